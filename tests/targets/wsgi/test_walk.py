"""``dispatchc.targets.wsgi.runtime.walk`` on its own: the walkers, the
fallback chain, and the automaton ``_dc_table`` builds.

States are built here from the plan's automaton (``dispatchc.plan``) with
recording routes, so the run time is tested without generated code: the
walkers of ``_dc_walker(depth)`` (written out up to four segments) and the
loop walker ``_dc_looping_walker(depth)`` agree with each other and with
the reference matcher on random automata and paths, and ``_dc_table``
(python/runtime/states.py) builds exactly the states of the plan's
automaton, a backend's projected one included.
"""

from __future__ import annotations

import zlib
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load
from dispatchc.errors import DispatchError
from dispatchc.plan import BlockPlan
from dispatchc.plan.matcher import BlockChoice, path_candidates
from dispatchc.plan.upstreams import project
from dispatchc.targets.python.emit import Names, is_static
from dispatchc.targets.python.runtime import states
from dispatchc.targets.wsgi.runtime import walk as rt

from ...helpers import call, compile_text, environ, load_module, temporary_targets
from ...strategies import path_infos, path_specs


class Recorder:
    """What the routes of one automaton did during one request."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []


class App:
    def __init__(self, rank: int, recorder: Recorder):
        self.rank = rank
        self.recorder = recorder

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.recorder.log.append(
            ("app", self.rank, environ.get("SCRIPT_NAME"), environ["PATH_INFO"])
        )
        start_response("200 OK", [])
        return [b""]


class Function:
    """A route written as a function: records its arguments, then answers
    (setting its dispatchc.route) or falls back."""

    def __init__(self, rank: int, name: str, answers: bool, app: App, depth: int):
        self.rank, self.name, self.answers, self.app, self.depth = rank, name, answers, app, depth

    def __call__(self, environ, start_response, parts, host, k):  # type: ignore[no-untyped-def]
        # (A block of "/" routes only has nothing to split: the walker of
        # depth 0 passes no parts, the loop walker the unsplit path.)
        shown = None if parts is None or self.depth == 0 else tuple(parts)
        self.app.recorder.log.append(("route", self.rank, shown, host, k))
        if not self.answers:
            return rt._DC_FALLBACK
        environ["dispatchc.route"] = self.name
        return self.app(environ, start_response)


def make_routes(block: BlockPlan, recorder: Recorder, salt: int) -> list[Any]:
    """A run-time route per route of the block: a constant tuple for a
    route without captures when ``salt`` says so, else a function that
    records its arguments and answers or falls back (by ``salt``)."""
    out: list[Any] = []
    for route in block.routes:
        name = block.route_name(route)
        decide = zlib.crc32(repr((salt, route.rank)).encode())
        app = App(route.rank, recorder)
        if route.script is not None and decide % 3 == 0:
            out.append((app, (name,), route.script, len(route.script)))
        else:
            out.append(Function(route.rank, name, decide % 2 == 0, app, block.depth))
    return out


def build_states(block: BlockPlan, routes: list[Any]) -> list[tuple[Any, ...]]:
    """The plan's states as the run time reads them: (children, other,
    first, rest)."""
    built: list[Any] = [None] * len(block.states)
    for state in block.states:  # children before parents
        chain = [routes[rank] for rank in state.chain]
        built[state.index] = (
            {key: built[child] for key, child in state.children},
            None if state.other is None else built[state.other],
            chain[0] if chain else None,
            tuple(chain[1:]),
        )
    return built


def handled(log: list[tuple[Any, ...]]) -> int | None:
    apps = [entry[1] for entry in log if entry[0] == "app"]
    assert len(apps) <= 1
    return apps[0] if apps else None


def answers(block: BlockPlan, routes: list[Any], rank: int) -> bool:
    route = routes[rank]
    if route.__class__ is tuple:
        return True
    return bool(route.answers)


def run(walker: Any, path: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    env = environ(None, path, **extra)
    response = call(walker, env)
    return response.status, env


@st.composite
def blocks(draw, max_segments: int = 6):  # type: ignore[no-untyped-def]
    paths = draw(
        st.lists(path_specs(max_segments), min_size=1, max_size=8, unique_by=lambda p: p.shape)
    )
    text = "".join(f"{p.text} -> m:app\n" for p in paths)
    try:
        plan = load("routes.disp", text.encode("utf-8")).plan
    except DispatchError:
        assume(False)
    assert plan is not None
    return plan.blocks[0]


@st.composite
def deep_paths(draw):  # type: ignore[no-untyped-def]
    segments = draw(st.lists(st.sampled_from(["a", "b", "c", "é", "", "zz"]), max_size=8))
    return (
        draw(st.sampled_from(["", "x"]))
        + "".join("/" + s for s in segments)
        + draw(st.sampled_from(["", "/", "//"]))
    )


@settings(max_examples=200, deadline=None)
@given(
    blocks(),
    st.lists(st.one_of(path_infos(), deep_paths()), min_size=1, max_size=10),
    st.integers(0, 7),
)
def test_walkers_agree_with_each_other_and_with_the_matcher(block, paths, salt):
    depth = block.depth
    recorder = Recorder()
    routes = make_routes(block, recorder, salt)
    root = build_states(block, routes)[-1]
    walkers = {"loop": rt._dc_looping_walker(depth, root), "chosen": rt._dc_walker(depth, root)}
    choice = BlockChoice(block.block, None, {}, "default")
    for path in paths:
        outcomes = {}
        for name, walker in walkers.items():
            recorder.log.clear()
            status, env = run(walker, path, SCRIPT_NAME="/pre")
            outcomes[name] = (
                status,
                list(recorder.log),
                env.get("dispatchc.route"),
                env["SCRIPT_NAME"],
                env["PATH_INFO"],
            )
        first = next(iter(outcomes.values()))
        assert all(o == first for o in outcomes.values()), (path, outcomes)
        status, log, route_name, script, path_info = first
        # The matcher: the first candidate that answers handles the request.
        candidates = path_candidates(choice, {"PATH_INFO": path, "SCRIPT_NAME": "/pre"})
        ranks = [next(r.rank for r in block.routes if r.route is c.route) for c in candidates]
        winner = next((rank for rank in ranks if answers(block, routes, rank)), None)
        assert handled(log) == winner, (path, log, ranks)
        if winner is None:
            assert status == 404 and route_name is None
            continue
        assert status == 200
        assert route_name == block.route_name(block.routes[winner])
        # Every route tried before it is one of the candidates before it, in order.
        tried = [entry[1] for entry in log if entry[0] == "route"]
        assert tried == [
            r for r in ranks[: ranks.index(winner) + 1] if isinstance(routes[r], Function)
        ]
        if routes[winner].__class__ is tuple:
            cand = candidates[ranks.index(winner)]
            assert (script, path_info) == (cand.script_name, cand.path_info)


def test_fallback_runs_the_rest_of_the_chain_with_the_same_parts():
    recorder = Recorder()
    seen: list[Any] = []

    def none_route(environ, start_response, parts, host, k):  # type: ignore[no-untyped-def]
        seen.append(("none", parts, host, k))
        return rt._DC_FALLBACK

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        recorder.log.append(
            (environ["SCRIPT_NAME"], environ["PATH_INFO"], environ["dispatchc.route"])
        )
        start_response("200 OK", [])
        return [b"ok"]

    static = (app, ("a.test /x", "b.test /x"), "/x", 2)
    env = environ(None, "/x/y", SCRIPT_NAME="/s")
    response = call(
        lambda e, s: rt._dc_fallback(
            e, s, (none_route, static), ["", "x", "y"], {"h": "1"}, "/x/y", 1
        ),
        env,
    )
    assert response.status == 200
    assert seen == [("none", ["", "x", "y"], {"h": "1"}, 1)]
    assert recorder.log == [("/s/x", "/y", "b.test /x")]
    nothing = call(
        lambda e, s: rt._dc_fallback(e, s, (none_route,), None, {}, "", 0), environ(None, "/")
    )
    assert nothing.status == 404


# -- _dc_table --------------------------------------------------------------------------


def test_table_builds_a_state_per_segment_and_chains_most_specific_first():
    app, other, root_app = object(), object(), object()

    def prefix(environ, start_response, parts, host, k):  # type: ignore[no-untyped-def]
        return rt._DC_FALLBACK

    root, depth = states._dc_table(
        ("a.test", "b.test"),
        {"/": root_app, "/api/v1": app, "/api/v2": other},
        routes={"/api/{version}": prefix},
    )
    assert depth == 2
    top = (root_app, ("a.test /", "b.test /"), "", 0)
    assert root[2] == top and root[3] == ()
    api = root[0]["api"]
    assert api[2] == top and api[3] == () and api[1] is not None
    v1 = api[0]["v1"]
    # A literal before a capture: /api/v1, then /api/{version}, then /.
    assert v1[2] == (app, ("a.test /api/v1", "b.test /api/v1"), "/api/v1", 7)
    assert v1[3] == (prefix, top)
    assert api[1][2] is prefix and api[1][3] == (top,)
    # A state without a route of its own passes its parent's chain on.
    bare, _ = states._dc_table(("default",), {"/x/y": app})
    assert bare[0]["x"][2] is None and bare[0]["x"][3] == ()


def test_table_of_one_root_route_is_the_general_tables_answer():
    app = object()
    for hosted in (None, lambda *hit: ("hosted", *hit)):
        quick = states._dc_table(("a.test", "b.test"), {"/": app}, hosted=hosted)
        # The same through the general path (a route to walk, then none).
        general = states._dc_table(
            ("a.test", "b.test"), {"/": app}, routes={"/x": "route"}, hosted=hosted
        )
        assert quick == ([{}, None, general[0][2], ()], 0)
        assert general[0][2][-4:] == (app, ("a.test /", "b.test /"), "", 0)


def canonical(state: Any) -> Any:
    """A state as nested plain data, to compare automata built two ways."""
    children, other, first, rest = state
    return (
        {key: canonical(child) for key, child in sorted(children.items())},
        None if other is None else canonical(other),
        first,
        tuple(rest),
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "c", "é"]), max_size=4).map(
            lambda segments: "/" + "/".join(segments)
        ),
        min_size=1,
        max_size=12,
        unique=True,
    ),
    st.randoms(use_true_random=False),
)
def test_literal_rows_in_path_order_build_the_same_automaton_in_one_pass(paths, random):
    apps = {path: f"app {path}" for path in paths}
    ordered = dict(sorted(apps.items()))  # as a module writes them: one pass
    shuffled = list(apps.items())
    random.shuffle(shuffled)
    assert (
        states._dc_literal_states([(p, (a, (p,), p, len(p))) for p, a in ordered.items()])
        is not None
    )
    one_pass = states._dc_table(("h",), ordered)
    # The same routes given as written-out routes take the general way.
    hits = {}
    for path, app in shuffled:
        script = "" if path == "/" else path
        hits[path] = (app, ("h " + path,), script, len(script))
    general = states._dc_table(("h",), {}, routes=hits)
    assert one_pass[1] == general[1]
    assert canonical(one_pass[0]) == canonical(general[0])


def test_table_of_a_block_whose_host_captures_wraps_its_rows():
    app = object()

    def hosted(*hit):  # type: ignore[no-untyped-def]
        return ("hosted", *hit)

    root, depth = states._dc_table(("{t}.a.test",), {"/x": app}, hosted=hosted)
    assert depth == 1
    assert root[0]["x"][2] == ("hosted", app, ("{t}.a.test /x",), "/x", 2)


def runtime_id(route: Any) -> str:
    if route.__class__ is tuple:
        return route[1][0]  # its dispatchc.route for the first pattern
    return route.__name__


def same_states(block: BlockPlan, root: Any, expected_id: Any) -> None:
    """A run-time automaton (``root``) has the plan's children, "other"
    links and chains, state by state."""

    def compare(state_index: int, built: Any) -> None:
        state = block.states[state_index]
        children, other, first, rest = built
        assert set(children) == {key for key, _ in state.children}
        assert (other is None) == (state.other is None)
        chain = ([first] if first is not None else []) + list(rest)
        assert [runtime_id(r) for r in chain] == [expected_id(r) for r in state.chain]
        for key, child in state.children:
            compare(child, children[key])
        if state.other is not None:
            compare(state.other, other)

    compare(block.root.index, root)


@settings(max_examples=80, deadline=None)
@given(
    blocks(max_segments=3),
    st.sets(st.sampled_from(["a", "b", "c", "x"]), max_size=3),
    st.integers(0, 7),
)
def test_a_modules_tables_are_exactly_the_plans_automaton(block, extra, salt):
    # Mounts (literal, nothing below them) beside the random routes, as a
    # table of mounts has; some routes are factories (written as functions).
    lines = [f"{r.path.text} -> m:app" for r in block.routes]
    lines += [f"/mount/{name} -> m:app" for name in sorted(extra)]
    lines = [
        line.replace("m:app", "m:make()") if zlib.crc32(repr((salt, i)).encode()) % 3 == 0 else line
        for i, line in enumerate(lines)
    ]
    text = "".join(line + "\n" for line in lines)
    try:
        plan = load("routes.disp", text.encode("utf-8")).plan
    except DispatchError:
        assume(False)
    assert plan is not None
    with temporary_targets(app=lambda e, s: [b""], make=lambda: None) as module:
        code = compile_text(text.replace("m:", module.__name__ + ":"))
        generated = load_module(code)
    (block,) = plan.blocks
    root, depth = generated._dc_table_default
    assert depth == block.depth

    def expected_id(rank: int) -> str:
        route = block.routes[rank]
        if is_static(block, route):  # a row of the table
            return block.route_name(route)
        return Names.route(block, route)

    same_states(block, root, expected_id)


@settings(max_examples=80, deadline=None)
@given(blocks(max_segments=3), st.integers(0, 255))
def test_a_backends_table_is_the_projected_automaton(block, mask):
    """Given the paths other upstreams serve and the 421 responder,
    ``_dc_table`` builds the chains ``plan.upstreams.project`` computes:
    routes of others skipped before the backend's first, the responder
    after it (and for an empty chain)."""
    owner = {}
    text = ""
    for i, route in enumerate(block.routes):
        upstream = "a" if mask >> (i % 8) & 1 else "b"
        owner[f"m:app{i}"] = upstream
        text += f"{route.path.text} -> m:app{i}\n"
    plan = load("routes.disp", text.encode("utf-8")).plan
    assert plan is not None
    projected = project(plan, owner, "a").blocks[0]
    assert projected.elsewhere is not None
    misdirected = object()
    rows = {
        "/" + "/".join(s.literal or "{" + str(s.capture) + "}" for s in r.path.segments): r
        for r in projected.routes
    }
    elsewhere = tuple(
        "/" + "/".join(s.literal or "{" + str(s.capture) + "}" for s in p.segments)
        for p in projected.elsewhere
    )
    root, depth = states._dc_table(
        ("default",),
        {},
        routes={path: (path, (projected.route_name(r),)) for path, r in rows.items()},
        elsewhere=elsewhere,
        misdirected=(misdirected, ("421",)),
    )
    assert depth == projected.depth

    def expected_id(rank: int) -> str:
        if rank == len(projected.routes):
            return "421"
        return projected.route_name(projected.routes[rank])

    def compare(state_index: int, built: Any, level: int) -> None:
        state = projected.states[state_index]
        children, other, first, rest = built
        chain = [first, *rest]
        assert [r[1][0] for r in chain] == [expected_id(r) for r in state.chain]
        if level == depth:  # the walkers go no deeper
            return
        assert set(children) == {key for key, _ in state.children}
        for key, child in state.children:
            compare(child, children[key], level + 1)
        if state.other is not None:
            compare(state.other, other, level + 1)

    compare(projected.root.index, root, 0)
