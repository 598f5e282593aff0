"""``dispatchc diff`` is exact (SPEC §11), checked against ``explain`` alone.

On random pairs of small tables (tests/strategies.py: independent pairs, and
a table with a few edits), with random requests aimed at either table:

- every request that ``explain`` handles differently on the two files lies
  in a reported region: its (old, new) handling, as route names and targets,
  is that of a reported example;
- every reported example is handled differently by the two files, and the
  handlings diff reports are what explain finds for it;
- a copy of a file with its statements shuffled and comments added diffs to
  nothing, and so does a file against itself.

Nothing here uses the diff engine's own regions or keys: only its output
(the example URLs) and explain.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatchc.compiler import Result, analyse
from dispatchc.ir import target_text
from dispatchc.plan import Plan
from dispatchc.tools.diff import compare
from dispatchc.tools.explain import FALLBACK, HANDLES, build_environ, explain_environ

from .strategies import (
    BlockSpec,
    RouteSpec,
    TableSpec,
    _block_captures,
    path_specs,
    requests,
    tables,
    targets,
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load(spec: TableSpec, name: str) -> Result:
    result = analyse(name, spec.source().encode("utf-8"))
    assert result.ok, [d.message for d in result.errors]
    return result


def _chain(plan: Plan, environ: dict[str, Any]):  # type: ignore[no-untyped-def]
    exp = explain_environ(plan, environ)
    steps = [s for s in exp.steps if s.role in (HANDLES, FALLBACK)]
    return exp, steps


def handled(plan: Plan, environ: dict[str, Any]) -> tuple[object, ...]:
    """Everything explain says a request gets, factory options aside."""
    exp, steps = _chain(plan, environ)
    if exp.status is not None:
        return ("status", exp.status)
    return (
        "routes",
        tuple(
            (
                s.name,
                target_text(s.route.target, False),
                tuple(sorted(s.captures.items())),
                s.script_name,
                s.path_info,
            )
            for s in steps
        ),
        exp.location,
    )


def routes(plan: Plan, environ: dict[str, Any]) -> tuple[object, ...]:
    """The same, request aside: the routes and targets (or the status)."""
    exp, steps = _chain(plan, environ)
    if exp.status is not None:
        return ("status", exp.status)
    return ("routes", tuple((s.name, target_text(s.route.target, False)) for s in steps))


def check_exact(old: TableSpec, new: TableSpec, environs: list[dict[str, Any]]) -> None:
    a, b = load(old, "old.disp"), load(new, "new.disp")
    assert a.plan is not None and b.plan is not None
    reported = set()
    for change in compare(a, b):
        environ = build_environ(change.url)
        before, after = handled(a.plan, environ), handled(b.plan, environ)
        assert before != after, f"{change.url} is reported ({change.kind}) but handled alike"
        assert change.old.same != change.new.same
        pair = (routes(a.plan, environ), routes(b.plan, environ))
        assert pair not in reported, f"two examples of one region: {change.url}"
        reported.add(pair)
    for environ in environs:
        if handled(a.plan, environ) != handled(b.plan, environ):
            pair = (routes(a.plan, environ), routes(b.plan, environ))
            assert pair in reported, f"a changed request in no reported region: {environ}"


# -- edits -------------------------------------------------------------------------


def _blocks(spec: TableSpec) -> list[BlockSpec]:
    return [*spec.blocks, *([spec.default] if spec.default is not None else [])]


def _with_block(spec: TableSpec, i: int, block: BlockSpec | None) -> TableSpec:
    """``spec`` with its i-th block (the default last) replaced or removed."""
    blocks = list(spec.blocks)
    if i < len(blocks):
        if block is None:
            del blocks[i]
        else:
            blocks[i] = block
        return dataclasses.replace(spec, blocks=tuple(blocks), order=())
    return dataclasses.replace(spec, default=block, order=())


@st.composite
def edited(draw, spec: TableSpec) -> TableSpec:
    """``spec`` after one to three edits a pull request might make."""
    for _ in range(draw(st.integers(1, 3))):
        blocks = _blocks(spec)
        if not blocks:
            break
        i = draw(st.integers(0, len(blocks) - 1))
        block = blocks[i]
        routes = list(block.routes)
        edit = draw(st.sampled_from(("drop", "retarget", "add", "patterns")))
        if edit == "drop" and routes:
            del routes[draw(st.integers(0, len(routes) - 1))]
        elif edit == "retarget" and routes:
            j = draw(st.integers(0, len(routes) - 1))
            route = routes[j]
            caps = tuple(sorted(set(_block_captures(block.patterns)) | set(route.path.captures)))
            routes[j] = dataclasses.replace(route, target=draw(targets(caps, list(spec.uses))))
        elif edit == "add":
            path = draw(path_specs())
            if path.shape in {r.path.shape for r in routes}:
                continue
            caps = tuple(sorted(set(_block_captures(block.patterns)) | set(path.captures)))
            target = draw(targets(caps, list(spec.uses)))
            routes.append(RouteSpec(path, target, not block.patterns))
        elif edit == "patterns" and block.patterns:
            if len(block.patterns) > 1:
                k = draw(st.integers(0, len(block.patterns) - 1))
                patterns = block.patterns[:k] + block.patterns[k + 1 :]
                spec = _with_block(spec, i, BlockSpec(patterns, tuple(routes)))
            elif len(spec.blocks) > 1 or spec.default is not None:
                spec = _with_block(spec, i, None)
            continue
        spec = _with_block(spec, i, dataclasses.replace(block, routes=tuple(routes)))
    if spec.default is not None and not spec.default_block_written:
        # Routes written at top level need no block; an empty default does.
        spec = dataclasses.replace(spec, default_block_written=not spec.default.routes)
    return spec


def _statements(spec: TableSpec) -> int:
    count = len(spec.uses) + len(spec.blocks)
    if spec.default is not None:
        count += int(spec.default_block_written) + sum(r.top_level for r in spec.default.routes)
    return count


@st.composite
def pairs(draw) -> tuple[TableSpec, TableSpec]:
    old = draw(tables())
    new = draw(tables()) if draw(st.integers(0, 3)) == 0 else draw(edited(old))
    return old, new


@st.composite
def aimed(draw, specs: tuple[TableSpec, ...]) -> list[dict[str, Any]]:
    return [draw(requests(draw(st.sampled_from(specs)))) for _ in range(draw(st.integers(5, 25)))]


@SETTINGS
@given(st.data())
def test_every_changed_request_is_in_a_reported_region(data):
    old, new = data.draw(pairs())
    check_exact(old, new, data.draw(aimed((old, new))))


@SETTINGS
@given(st.data())
def test_a_shuffled_copy_with_comments_diffs_to_nothing(data):
    spec = data.draw(tables())
    order = tuple(data.draw(st.permutations(range(_statements(spec)))))
    shuffled = dataclasses.replace(spec, order=order)
    a = load(spec, "old.disp")
    text = shuffled.source().replace("\n", "\n  # a comment\n\n")
    b = analyse("new.disp", text.encode("utf-8"))
    assert b.ok
    assert compare(a, b) == []
    assert compare(a, a) == []
