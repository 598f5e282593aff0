"""``dispatchc.plan.names``: generated names come from what they name.

``identifier`` turns text into a name's tail; ``unique`` makes a set of
them distinct by giving colliding ones a hash of their own key. The
properties that make a generated module read well in a pull request:
adding an item never renames another unless the two collide, and a
collision is resolved by a suffix that depends only on the item itself.
"""

from __future__ import annotations

import hashlib
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load
from dispatchc.plan.names import LIMIT, digest, identifier, unique

from ..strategies import path_pattern_texts, tables

NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")

texts = st.text(
    st.sampled_from("abcxyzABC0189_-./{}* éß漢\u2028\x00'\""), max_size=LIMIT + 20
) | st.text(max_size=60)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_identifier_is_a_plain_lowercase_ascii_tail(text):
    name = identifier(text)
    assert NAME.fullmatch(name), name
    assert len(name) <= LIMIT + 1 + 6
    assert identifier(text) == name  # deterministic


@settings(deadline=None)
@given(texts)
def test_identifier_keeps_letters_and_digits_in_order(text):
    kept = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    name = identifier(text)
    if len(kept) <= LIMIT:
        assert name == (kept or "x")
    else:
        # Cut, and told apart from other text with the same start by a hash
        # of the whole text.
        assert name == kept[:LIMIT].rstrip("_") + "_" + digest(text)


def test_identifier_examples():
    assert identifier("/orgs/{org}/repos/{repo}") == "orgs_org_repos_repo"
    assert identifier("{subdomain}.example.com") == "subdomain_example_com"
    assert identifier("*.example.com") == "example_com"
    assert identifier("/café") == "caf"
    assert identifier("/") == "x"
    assert identifier("/" + "a" * 50) != identifier("/" + "a" * 51)


def test_digest_is_a_prefix_of_sha256():
    assert digest("text") == hashlib.sha256(b"text").hexdigest()[:6]
    assert digest("text", 16) == hashlib.sha256(b"text").hexdigest()[:16]
    assert digest("\udcff")  # lone surrogates (from odd file names) do not raise


def meets(name: str, base: str) -> bool:
    """Whether ``name`` looks like ``base`` with a hash suffix: the only
    names a collision of ``base`` can meet."""
    return re.fullmatch(re.escape(base) + "_[0-9a-f]{6,}", name) is not None


keys = st.lists(st.text(st.sampled_from("ab/_-.{}1"), min_size=1, max_size=6), unique=True)


def pairs(items: list[str]) -> list[tuple[str, str]]:
    return [(k, identifier(k)) for k in items]


@settings(max_examples=400, deadline=None)
@given(keys)
def test_unique_names_are_distinct_and_uncolliding_bases_are_kept(items):
    names = unique(pairs(items))
    assert set(names) == set(items)
    assert len(set(names.values())) == len(items)
    bases = [identifier(k) for k in items]
    for key in items:
        base = identifier(key)
        if bases.count(base) == 1 and names[key] == base:
            continue
        # A collision: the base, then a hash of the key itself.
        assert names[key].startswith(base + "_"), (key, names[key])
        suffix = names[key][len(base) + 1 :]
        assert suffix == digest(key, len(suffix))
        assert bases.count(base) > 1 or list(names.values()).count(base) == 0


@settings(max_examples=400, deadline=None)
@given(keys, st.text(st.sampled_from("ab/_-.{}1"), min_size=1, max_size=6))
def test_adding_an_item_renames_nothing_it_does_not_collide_with(items, new):
    assume(new not in items)
    before = unique(pairs(items))
    after = unique(pairs([*items, new]))
    base = identifier(new)
    for key in items:
        if after[key] != before[key]:
            # Only an item with the new item's base, or one whose name the
            # new one's suffixed names would meet, is renamed.
            assert identifier(key) == base or meets(before[key], base), (key, before, after)


def test_collisions_get_hash_suffixes():
    names = unique([("/a-b", "a_b"), ("/a/b", "a_b"), ("/c", "c")])
    assert names == {"/a-b": "a_b_" + digest("/a-b"), "/a/b": "a_b_" + digest("/a/b"), "/c": "c"}


def test_a_suffixed_name_that_meets_a_written_one_gets_a_longer_hash():
    met = "a_b_" + digest("/a/b")
    names = unique([("/a-b", "a_b"), ("/a/b", "a_b"), ("written", met)])
    assert len(set(names.values())) == 3
    assert names["written"] == met or names["/a/b"] != met


# -- in the plan: route and block names ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(path_pattern_texts(), min_size=1, max_size=8, unique=True), path_pattern_texts())
def test_adding_a_route_renames_no_other_route_unless_they_collide(paths, new):
    def route_names(texts: list[str]) -> dict[str, str] | None:
        text = "".join(f"{t} -> status 200\n" for t in texts)
        result = load_or_none(text)
        if result is None:
            return None
        (block,) = result.plan.blocks
        return {r.path.text: r.name for r in block.routes}

    before = route_names(paths)
    after = route_names([*paths, new])
    assume(before is not None and after is not None)
    base = "root" if new == "/" else identifier(new)
    for path, name in before.items():
        own = "root" if path == "/" else identifier(path)
        if after[path] != name:
            assert own == base or meets(name, base), (path, name, after[path])
    # A collision gives a hash of the path itself: stable, whatever else.
    for path, name in after.items():
        own = "root" if path == "/" else identifier(path)
        assert name == own or name == own + "_" + digest(path, len(name) - len(own) - 1)


def load_or_none(text: str):  # type: ignore[no-untyped-def]
    from dispatchc.errors import DispatchError

    try:
        return load("routes.disp", text.encode("utf-8"))
    except DispatchError:
        return None  # the same shape twice: a duplicate route


def test_route_and_block_names_examples():
    result = load(
        "routes.disp",
        b"host {sub}.example.com, example.com { / -> m:a\n /a/{x} -> m:b }\n"
        b"host *.example.com { /a-b -> m:c\n /a/b -> m:d }\n"
        b"/ -> status 404\n",
    )
    plan = result.plan
    assert plan is not None
    # Blocks are named after their most specific pattern, with "*" spelled
    # "any", so example.com and *.example.com do not collide.
    assert [b.name for b in plan.blocks] == ["example_com", "any_example_com", "default"]
    names = {b.label: {r.path.text: r.name for r in b.routes} for b in plan.blocks}
    assert names["host example.com, {sub}.example.com"] == {"/a/{x}": "a_x", "/": "root"}
    assert names["host *.example.com"] == {
        "/a-b": "a_b_" + digest("/a-b"),
        "/a/b": "a_b_" + digest("/a/b"),
    }


@settings(max_examples=60, deadline=None)
@given(tables())
def test_names_are_unique_per_block_and_blocks_unique_per_file(spec):
    plan = load("routes.disp", spec.source().encode("utf-8")).plan
    assert plan is not None
    block_names = [b.name for b in plan.blocks]
    assert len(set(block_names)) == len(block_names)
    assert all(NAME.fullmatch(n) for n in block_names)
    if plan.default is not None:
        assert plan.default.name == "default"
    for block in plan.blocks:
        route_names = [r.name for r in block.routes]
        assert len(set(route_names)) == len(route_names)
        assert all(NAME.fullmatch(n) for n in route_names)
        # No "__" in a name: targets join block and route names with it.
        assert all("__" not in n for n in [block.name, *route_names])
