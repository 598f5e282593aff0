"""``dispatchc.plan.automaton``: a block's routes as a determinised segment
trie. Walking it over a path (a dict lookup per segment, "any other
non-empty segment" when no literal child matches) ends at a state whose
chain is exactly the reference matcher's candidates for that path, in SPEC
§3 order; states hang in a tree identified by their steps.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load
from dispatchc.front.patterns import parse_path
from dispatchc.ir import Route, StatusTarget
from dispatchc.plan import BlockPlan, PlanError, State, build
from dispatchc.plan.automaton import LazyStates, TableTooLarge, block_states, states
from dispatchc.plan.matcher import BlockChoice, path_candidates

from ..strategies import aimed_path, path_infos, tables


def walk(block: BlockPlan, path_info: str) -> State:
    """The state a request for ``path_info`` ends at: the walk of SPEC §3
    as the generated walkers do it (at most as deep as the block's longest
    route)."""
    state = block.root
    parts = path_info.split("/", block.depth + 1)
    if parts[0]:
        return state
    for segment in parts[1 : block.depth + 1]:
        children = dict(state.children)
        index = children.get(segment)
        if index is None:
            if state.other is None or not segment:
                break
            index = state.other
        state = block.states[index]
    return state


def candidates(block: BlockPlan, path_info: str) -> list[Route]:
    choice = BlockChoice(block.block, block.patterns[0] if block.patterns else None, {}, "test")
    return [c.route for c in path_candidates(choice, {"PATH_INFO": path_info})]


def check_structure(block: BlockPlan) -> None:
    found = block.states
    assert [s.index for s in found] == list(range(len(found)))
    root = block.root
    assert (root.parent, root.step, root.depth) == (None, None, 0)
    assert [s for s in found if s.parent is None] == [root]
    steps: set[tuple[str | None, ...]] = set()
    for state in found:
        # Children before parents: every reference points backwards.
        for _, child in state.children:
            assert child < state.index
            assert found[child].parent == state.index
        if state.other is not None:
            assert state.other < state.index
            assert found[state.other].parent == state.index
            assert found[state.other].step is None
        assert [k for k, _ in state.children] == sorted(k for k, _ in state.children)
        if state.parent is not None:
            parent = found[state.parent]
            assert state.depth == parent.depth + 1
            if state.step is None:
                assert parent.other == state.index
            else:
                assert (state.step, state.index) in parent.children
            # A state's chain ends with its parent's: a route of fewer
            # segments matches every longer path it prefixes.
            assert state.chain[len(state.chain) - len(parent.chain) :] == parent.chain
        # The steps from the root identify a state.
        path = []
        node = state
        while node.parent is not None:
            path.append(node.step)
            node = found[node.parent]
        key = tuple(reversed(path))
        assert key not in steps
        steps.add(key)
        # A chain is in precedence order (ranks ascending).
        assert list(state.chain) == sorted(state.chain)
    assert max(s.depth for s in found) == block.depth or not block.routes


@st.composite
def blocks_and_paths(draw):
    spec = draw(tables())
    plan = load("routes.disp", spec.source().encode("utf-8")).plan
    assert plan is not None
    specs = [*spec.blocks, *([spec.default] if spec.default is not None else [])]
    paths = draw(
        st.lists(st.one_of(path_infos(), *[aimed_path(b) for b in specs]), min_size=1, max_size=12)
    )
    return plan, paths


@settings(max_examples=150, deadline=None)
@given(blocks_and_paths())
def test_chains_are_the_matchers_candidates_in_order(found):
    plan, paths = found
    for block in plan.blocks:
        check_structure(block)
        for path in paths:
            state = walk(block, path)
            chain = [block.routes[rank].route for rank in state.chain]
            assert chain == candidates(block, path), (block.label, path)


def test_steps_and_parents_of_a_small_block():
    plan = load(
        "routes.disp", b"/a/b -> m:a\n/{x}/b -> m:b\n/a -> m:c\n/ -> m:d\n/{x}/{y}/c -> m:e\n"
    ).plan
    assert plan is not None
    (block,) = plan.blocks
    by_steps = {}
    for state in block.states:
        path = []
        node = state
        while node.parent is not None:
            path.append(node.step)
            node = block.states[node.parent]
        by_steps[tuple(reversed(path))] = [block.routes[r].path.text for r in state.chain]
    assert by_steps == {
        (): ["/"],
        ("a",): ["/a", "/"],
        (None,): ["/"],
        ("a", "b"): ["/a/b", "/{x}/b", "/a", "/"],
        ("a", None): ["/a", "/"],
        (None, "b"): ["/{x}/b", "/"],
        (None, None): ["/"],
        ("a", "b", "c"): ["/{x}/{y}/c", "/a/b", "/{x}/b", "/a", "/"],
        ("a", None, "c"): ["/{x}/{y}/c", "/a", "/"],
        (None, "b", "c"): ["/{x}/{y}/c", "/{x}/b", "/"],
        (None, None, "c"): ["/{x}/{y}/c", "/"],
    }
    assert block.depth == 3


def test_a_table_past_the_limit_is_refused():
    routes = tuple(
        Route(parse_path(t), StatusTarget(200))
        for t in ["/{a}/x/{b}", "/y/{c}/z", "/{d}/{e}/w", "/q/r/s"]
    )
    assert len(states(routes)) > 5
    with pytest.raises(TableTooLarge):
        states(routes, limit=5)
    table = load("routes.disp", b"/{a}/x/{b} -> m:a\n/y/{c}/z -> m:b\n").table
    with pytest.raises(PlanError) as info:
        build(table, limit=3)
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E203"
    assert "the default block" in diagnostic.message


def test_a_literal_table_past_the_limit_is_refused_at_build_time():
    """A block of literal paths gets its states when first read, but one
    that may be too large is still an error when the file is built."""
    text = b"/a/b/c -> m:a\n/a/d/e -> m:b\n/f -> m:c\n"  # 7 states, 8 segments and a root
    table = load("routes.disp", text).table
    assert len(build(table, limit=8).blocks[0].states) == 7
    with pytest.raises(PlanError) as info:
        build(table, limit=6)
    assert [d.code for d in info.value.diagnostics] == ["E203"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abc"), min_size=1, max_size=3), max_size=8))
def test_literal_states_made_late_are_the_states(paths: list[list[str]]) -> None:
    texts = sorted({"/" + "/".join(p) for p in paths} | {"/"})
    routes = tuple(Route(parse_path(t), StatusTarget(200)) for t in reversed(texts))
    late = block_states(routes)
    assert isinstance(late, LazyStates)
    made = states(routes)
    assert list(late) == list(made)
    assert late[-1] == made[-1] and len(late) == len(made)
    assert list(reversed(late)) == list(reversed(made))
