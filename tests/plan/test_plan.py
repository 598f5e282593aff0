"""``dispatchc.plan.build``: what every target and tool reads.

The ``dispatchc.route`` texts (SPEC §3) for every block and pattern, block
labels and prefixes, each route's SCRIPT_NAME suffix, and the fallback
chains of ``BlockPlan.fallbacks`` against the reference matcher when
factories return None (``explain --none``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load
from dispatchc.ir import FactoryTarget, PathPattern
from dispatchc.plan import Plan, RoutePlan, route_name
from dispatchc.plan.matcher import dispatch, path_candidates

from ..strategies import tables


def plan_of(text: str) -> Plan:
    plan = load("routes.disp", text.encode("utf-8")).plan
    assert plan is not None
    return plan


SAMPLE = """\
use frontend = frontend_app:application
host example.com, www.example.com {
    /         -> frontend
    /backend  -> backend_app:application
}
host {subdomain}.example.com {
    / -> myapplication:make_app(subdomain)
}
host users.example.org {
    /{prefix} -> myapplication:make_app(prefix)
    /         -> myapplication:default_app
}
host Bücher.example:8080 {
    /café/{x} -> status 204
}
default {
    / -> status 404
}
"""


def test_route_names_labels_and_prefixes():
    plan = plan_of(SAMPLE)
    got = {
        block.label: [
            block.route_name(r, i) for i in range(len(block.prefixes)) for r in block.routes
        ]
        for block in plan.blocks
    }
    assert got == {
        "host example.com, www.example.com": [
            "example.com /backend",
            "example.com /",
            "www.example.com /backend",
            "www.example.com /",
        ],
        "host users.example.org": ["users.example.org /{prefix}", "users.example.org /"],
        "host xn--bcher-kva.example:8080": ["xn--bcher-kva.example:8080 /café/{x}"],
        "host {subdomain}.example.com": ["{subdomain}.example.com /"],
        "default": ["default /"],
    }
    assert plan.default is not None and plan.default.prefixes == ("default",)
    assert plan.has_hosts
    # Most specific pattern first: an exact host with a port, then exact
    # hosts by text, then patterns.
    assert [b.name for b in plan.host_blocks] == [
        "xn_bcher_kva_example_8080",
        "example_com",
        "users_example_org",
        "subdomain_example_com",
    ]
    for block in plan.blocks:
        assert plan.block_of(block.block) is block
        for route in block.routes:
            assert block.route_of(route.route) is route


def test_route_name_is_prefix_space_path():
    path = PathPattern("/a/{b}", ())
    assert route_name("{x}.example.com:8080", path) == "{x}.example.com:8080 /a/{b}"
    assert route_name("default", path) == "default /a/{b}"


def test_scripts_ranks_and_kinds():
    plan = plan_of(SAMPLE)
    routes = {
        (b.name, r.path.text): (r.rank, r.script, r.is_factory)
        for b in plan.blocks
        for r in b.routes
    }
    assert routes[("example_com", "/backend")] == (0, "/backend", False)
    assert routes[("example_com", "/")] == (1, "", False)
    assert routes[("users_example_org", "/{prefix}")] == (0, None, True)
    # Literals in their PATH_INFO form (UTF-8 bytes read as latin-1).
    assert routes[("xn_bcher_kva_example_8080", "/café/{x}")] == (0, None, False)
    cafe = plan_of("/café -> status 204\n").blocks[0].routes[0]
    assert cafe.script == "/caf\u00c3\u00a9"


def test_a_file_without_host_blocks():
    plan = plan_of("/a -> m:x\n/ -> m:y\n")
    assert not plan.has_hosts and plan.host_blocks == () and plan.hosts == ()
    assert plan.default is not None and plan.blocks == (plan.default,)
    assert plan.default.label == "default" and plan.default.name == "default"
    assert plan_of("host a.test { / -> m:x }\n").default is None


# -- fallbacks against the matcher ---------------------------------------------------------


@dataclass
class Probe:
    route: RoutePlan
    path: str  # a PATH_INFO the route matches


def fill(route: RoutePlan, other: PathPattern | None, value: str) -> str:
    """A PATH_INFO that ``route`` matches: its literals, and for each
    capture ``other``'s literal there (to reach ``other``) or ``value``."""
    pieces = []
    for i, seg in enumerate(route.path.segments):
        if seg.literal is not None:
            pieces.append(seg.literal)
        elif other is not None and i < len(other.segments) and other.segments[i].literal:
            pieces.append(other.segments[i].literal)
        else:
            pieces.append(value)
    return "".join("/" + p for p in pieces)


def environ_for(plan: Plan, block, path: str) -> dict[str, str] | None:  # type: ignore[no-untyped-def]
    """A request that reaches ``block`` (None when none is easy to make:
    ``*`` and capture patterns get labels that no exact host uses)."""
    env = {"PATH_INFO": path, "wsgi.url_scheme": "http", "REQUEST_METHOD": "GET"}
    if block.is_default:
        if plan.has_hosts:
            env["HTTP_HOST"] = "nowhere.invalid"
        return env
    pattern = block.patterns[0]
    labels = ["zq"] * (len(pattern.captures) or (1 if pattern.kind == "wildcard" else 0))
    host = ".".join([*labels, pattern.host]) if labels else pattern.host
    env["HTTP_HOST"] = host + (f":{pattern.port}" if pattern.port is not None else "")
    return env


FRESH = "zz-fresh"  # a segment no routing file of tests/strategies.py writes


@settings(max_examples=150, deadline=None)
@given(tables(), st.data())
def test_fallbacks_agree_with_the_matcher_when_factories_return_none(spec, data):
    """For a factory route R, ``fallbacks(R)`` lists where a request may go
    when R's factory returns None: the later routes that match some path R
    matches, up to the first that matches all of them. On any path R
    matches, the matcher's candidates after R begin with exactly those of
    the list that match the path, the last of the list always among them;
    or, when no route of the list matches every path (``fallbacks(R)[1]``,
    some paths get 404), they are exactly those, and a path whose captures
    hold a segment no literal matches has none after R."""
    plan = plan_of(spec.source())
    for block in plan.blocks:
        for route in block.routes:
            if not route.is_factory:
                continue
            later, some_404 = block.fallbacks(route)
            ranks = [r.rank for r in later]
            assert ranks == sorted(ranks) and all(r > route.rank for r in ranks)
            probes = [fill(route, r.path, FRESH) for r in later] + [fill(route, None, FRESH)]
            probes.append(fill(route, None, data.draw(st.sampled_from(["a", "b", "c", "é"]))))
            for i, path in enumerate(probes):
                env = environ_for(plan, block, path)
                outcome = dispatch(plan.table, env, lambda r, args: False)  # --none
                if outcome.choice is None or outcome.choice.block is not block.block:
                    continue  # the host reached a more specific block
                # Every route that matches, in order (--none makes each
                # factory fall through; apps would stop the chain).
                chain = [c.route for c in path_candidates(outcome.choice, env)]
                tried = [c.route for c in outcome.tried]
                assert chain[: len(tried)] == tried
                assert route.route in chain, (block.label, route.path.text, path)
                after = chain[chain.index(route.route) + 1 :]
                expected = [r.route for r in later if r.route in after]
                assert after[: len(expected)] == expected, (route.path.text, path)
                if some_404:
                    assert after == expected, (route.path.text, path)
                else:
                    assert expected[-1] == later[-1].route, (route.path.text, path)
                if i < len(later):
                    assert later[i].route in expected, (route.path.text, later[i].path.text)
                elif i == len(later):
                    assert (not after) == some_404, (route.path.text, path, some_404)


def test_fallback_examples():
    plan = plan_of(
        "/a/{x}/b -> m:f(x)\n/a/{x} -> m:g(x)\n/{y} -> m:h(y)\n/a/c/b -> m:app\n/q -> m:app\n"
    )
    (block,) = plan.blocks
    by_path = {r.path.text: r for r in block.routes}

    def texts(path: str) -> tuple[list[str], bool]:
        later, some_404 = block.fallbacks(by_path[path])
        return [r.path.text for r in later], some_404

    # /a/{x} takes every path of /a/{x}/b: nothing after it is reached
    # directly (its own fallbacks take over from there).
    assert texts("/a/{x}/b") == (["/a/{x}"], False)
    assert texts("/a/{x}") == (["/{y}"], False)
    assert texts("/{y}") == ([], True)
    # /{w}/c/b (an app) takes some paths of /a/{x}/b; /q takes none.
    plan = plan_of("/a/{x}/b -> m:f(x)\n/{w}/c/b -> m:app\n/{y}/{z} -> m:app\n/q -> m:app\n")
    (block,) = plan.blocks
    first = next(r for r in block.routes if r.path.text == "/a/{x}/b")
    later, some_404 = block.fallbacks(first)
    assert ([r.path.text for r in later], some_404) == (["/{w}/c/b", "/{y}/{z}"], False)
    assert isinstance(by_path["/{y}"].target, FactoryTarget)
