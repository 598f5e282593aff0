"""``dispatchc.plan.order``: THE precedence of SPEC §2 (hosts) and §3 (paths).

Each key is checked against the SPEC's words, written here as a pairwise
rule ("must come before") over patterns that can match the same request,
and against every permutation of its input: the order never depends on the
order of the file.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load
from dispatchc.front.patterns import parse_host, parse_path
from dispatchc.ir import HostPattern, PathPattern
from dispatchc.plan import order

from ..strategies import host_pattern_texts, path_pattern_texts, tables

# -- hosts (SPEC §2) -----------------------------------------------------------------


def host_before(a: HostPattern, b: HostPattern) -> bool:
    """SPEC §2: ``a`` must be tried before ``b``. Exact beats any pattern
    with captures or ``*``; among the rest, more literal labels win; at equal
    literal labels a capture pattern beats ``*`` and more capture labels beat
    fewer; only then does a pattern with a port beat one without."""
    port = a.port is not None and b.port is None
    if a.kind == "exact" or b.kind == "exact":
        if a.kind != b.kind:
            return a.kind == "exact"
        return a.host == b.host and port
    if len(a.suffix) != len(b.suffix):
        return len(a.suffix) > len(b.suffix)
    if a.kind != b.kind:
        return a.kind == "capture"
    if len(a.captures) != len(b.captures):
        return len(a.captures) > len(b.captures)
    return port


def check_host_order(patterns: list[HostPattern]) -> None:
    ordered = order.ordered_patterns(patterns)
    assert sorted(p.text for p in ordered) == sorted(p.text for p in patterns)
    for i, j in itertools.combinations(range(len(ordered)), 2):
        assert not host_before(ordered[j], ordered[i]), (ordered[i].text, ordered[j].text)


unique_hosts = st.lists(host_pattern_texts(), max_size=8, unique=True).map(
    lambda texts: list({p.text: p for p in map(parse_host, texts)}.values())
)


@settings(max_examples=300, deadline=None)
@given(unique_hosts, st.randoms(use_true_random=False))
def test_host_order_follows_the_spec_whatever_the_input_order(patterns, rnd):
    check_host_order(patterns)
    shuffled = list(patterns)
    rnd.shuffle(shuffled)
    assert [p.text for p in order.ordered_patterns(shuffled)] == [
        p.text for p in order.ordered_patterns(patterns)
    ]


@pytest.mark.parametrize(
    "texts",
    [
        # Each list is in SPEC order, most specific first.
        ["a.example.com:8080", "a.example.com", "{x}.a.example.com", "{x}.example.com"],
        ["{x}.{y}.example.com", "{x}.example.com", "*.example.com"],
        ["{x}.example.com:8080", "{x}.example.com", "*.example.com:8080", "*.example.com"],
        ["*.x.example.com", "{a}.{b}.{c}.example.com:8080", "*.example.com"],
        ["[::1]", "{x}.example.com"],
    ],
)
def test_host_order_examples(texts):
    patterns = [parse_host(t) for t in texts]
    for permutation in itertools.permutations(patterns):
        assert [p.text for p in order.ordered_patterns(permutation)] == texts


def test_host_ties_are_broken_by_text():
    # Equal weight, different hosts: never the same request; still one order.
    texts = ["b.example.com", "a.example.com", "c.example.org"]
    for permutation in itertools.permutations(texts):
        got = [p.text for p in order.ordered_patterns(parse_host(t) for t in permutation)]
        assert got == sorted(texts)


# -- paths (SPEC §3) -----------------------------------------------------------------


def compatible(a: PathPattern, b: PathPattern) -> bool:
    """Some path matches both: no position where both are different literals."""
    return all(
        x.literal is None or y.literal is None or x.literal == y.literal
        for x, y in zip(a.segments, b.segments, strict=False)
    )


def path_before(a: PathPattern, b: PathPattern) -> bool:
    """SPEC §3: more segments first; at equal length, a literal beats a
    capture at the first position where they differ."""
    if len(a.segments) != len(b.segments):
        return len(a.segments) > len(b.segments)
    for x, y in zip(a.segments, b.segments, strict=True):
        if (x.literal is None) != (y.literal is None):
            return x.literal is not None
    return False


@settings(max_examples=300, deadline=None)
@given(st.lists(path_pattern_texts(), max_size=10, unique=True), st.randoms(use_true_random=False))
def test_path_order_follows_the_spec_whatever_the_input_order(texts, rnd):
    from dispatchc.ir import Route, StatusTarget

    routes = [Route(parse_path(t), StatusTarget(200)) for t in texts]
    ordered = order.ordered_routes(routes)
    for i, j in itertools.combinations(range(len(ordered)), 2):
        a, b = ordered[i].path, ordered[j].path
        if compatible(a, b):
            assert not path_before(b, a), (a.text, b.text)
    rnd.shuffle(routes)
    assert [r.path.text for r in order.ordered_routes(routes)] == [r.path.text for r in ordered]


@pytest.mark.parametrize(
    "texts",
    [
        ["/a/b/c", "/{x}/b/{z}", "/{x}/{y}/c", "/a/b", "/a/{y}", "/{x}/b", "/a", "/{x}", "/"],
        ["/orgs/{org}/repos/{repo}", "/orgs/{org}", "/{user}", "/"],
    ],
)
def test_path_order_examples(texts):
    from dispatchc.ir import Route, StatusTarget

    routes = [Route(parse_path(t), StatusTarget(200)) for t in texts]
    for permutation in itertools.permutations(routes[:7]):
        ordered = order.ordered_routes([*permutation, *routes[7:]])
        assert [r.path.text for r in ordered] == texts


def test_path_key_breaks_ties_by_literals_then_text():
    # Same weight, different literals: never the same request; one order.
    texts = ["/b/{x}", "/a/{x}", "/é/{x}"]
    keys = sorted(order.path_key(parse_path(t)) for t in texts)
    assert [k[-1] for k in keys] == ["/a/{x}", "/b/{x}", "/é/{x}"]


# -- blocks: the plan reads the file the same way in any statement order --------------------


def plan_shape(text: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    plan = load("routes.disp", text.encode("utf-8")).plan
    assert plan is not None
    return [
        (block.label, block.name, [(r.path.text, r.name) for r in block.routes])
        for block in plan.blocks
    ] + [("hosts", "", [(rule.pattern.text, rule.block.name) for rule in plan.hosts])]


@settings(max_examples=80, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_statement_order_changes_nothing_in_the_plan(spec, rnd):
    from dataclasses import replace

    statements = len(spec.uses) + len(spec.blocks)
    if spec.default is not None:
        statements += int(spec.default_block_written) + sum(
            r.top_level for r in spec.default.routes
        )
    permutation = list(range(statements))
    rnd.shuffle(permutation)
    # Routes inside a block reordered too.
    blocks = tuple(
        replace(b, routes=tuple(rnd.sample(b.routes, len(b.routes)))) for b in spec.blocks
    )
    other = replace(spec, blocks=blocks, order=tuple(permutation))
    assert plan_shape(other.source()) == plan_shape(spec.source())


def test_block_key_is_the_most_specific_pattern():
    plan = load(
        "routes.disp",
        b"host *.example.com, b.example.com { / -> m:a }\n"
        b"host {x}.example.com { / -> m:b }\n"
        b"host a.example.com:8080 { / -> m:c }\n",
    ).plan
    assert plan is not None
    assert [b.label for b in plan.host_blocks] == [
        "host a.example.com:8080",
        "host b.example.com, *.example.com",
        "host {x}.example.com",
    ]
    assert [(r.pattern.text, r.index) for r in plan.hosts] == [
        ("a.example.com:8080", 0),
        ("b.example.com", 0),
        ("{x}.example.com", 0),
        ("*.example.com", 1),
    ]
