"""A block's routes as a segment automaton a request walks with one dict
lookup per segment.

The routes of a block form a trie of path segments (a literal child per
distinct literal, one capture child). A request may follow a literal child
and the capture child at once, so the trie is determinised (subset
construction) into states. The result is kept a tree (states are never
merged), so each state has one path from the root, and its *chain* — the
routes ending at its nodes, most specific first, followed by its parent's
chain — is exactly the SPEC §3 order of the routes matching a path that ends
there. A state knows the step that leads to it from its parent (a literal,
or None for "any other non-empty segment"): the steps from the root identify
a state whatever else the table holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from ..ir import Route

#: A block whose determinised table would exceed this many states is refused
#: (E203) rather than compiled into a huge module or hanging the compiler.
MAX_STATES = 200_000


class TableTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class State:
    """``children``: literal -> state index; ``other``: the state for any
    other non-empty segment; ``chain``: route ranks in precedence order;
    ``parent`` and ``step``: where it hangs in the tree (None for the root;
    a step of None is "any other segment"); ``depth``: steps from the root."""

    index: int
    children: tuple[tuple[str, int], ...]
    other: int | None
    chain: tuple[int, ...]
    parent: int | None
    step: str | None
    depth: int


@dataclass(eq=False, slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    capture: _Node | None = None
    route: int | None = None  # rank of the route ending here


def _trie(routes: tuple[Route, ...]) -> _Node:
    root = _Node()
    for rank, route in enumerate(routes):
        node = root
        for seg in route.path.segments:
            if seg.literal is not None:
                node = node.children.setdefault(seg.literal, _Node())
            else:
                if node.capture is None:
                    node.capture = _Node()
                node = node.capture
        node.route = rank
    return root


@dataclass(eq=False, slots=True)
class _Work:
    nodes: list[_Node]
    chain: tuple[int, ...]
    step: str | None
    depth: int
    parent: _Work | None = None
    children: list[tuple[str, _Work]] = field(default_factory=list)
    other: _Work | None = None


def _work(nodes: list[_Node], parent: _Work | None, step: str | None) -> _Work:
    # Ranks are precedence order already: the lowest rank is the most specific.
    own = tuple(sorted(n.route for n in nodes if n.route is not None))
    if parent is None:
        return _Work(nodes, own, step, 0)
    return _Work(nodes, own + parent.chain, step, parent.depth + 1, parent)


def states(routes: tuple[Route, ...], limit: int = MAX_STATES) -> tuple[State, ...]:
    """The states of a block's automaton (``routes`` in precedence order),
    children before parents: the root is last. Iterative, since paths may be
    deep. Raises TableTooLarge past ``limit`` states."""
    root = _work([_trie(routes)], None, None)
    found: list[_Work] = []
    stack = [root]
    while stack:
        work = stack.pop()
        found.append(work)
        if len(found) > limit:
            raise TableTooLarge(f"its path table would need more than {limit:,} states")
        captures = [n.capture for n in work.nodes if n.capture is not None]
        for key in sorted({k for n in work.nodes for k in n.children}):
            nxt = [n.children[key] for n in work.nodes if key in n.children]
            work.children.append((key, _work(nxt + captures, work, key)))
        if captures:
            work.other = _work(captures, work, None)
            stack.append(work.other)
        stack.extend(child for _, child in reversed(work.children))
    # Discovery order is parents first; number the reverse so that every
    # state comes after the states it refers to.
    index = {id(w): i for i, w in enumerate(reversed(found))}
    return tuple(
        State(
            index[id(w)],
            tuple((key, index[id(child)]) for key, child in w.children),
            None if w.other is None else index[id(w.other)],
            w.chain,
            None if w.parent is None else index[id(w.parent)],
            w.step,
            w.depth,
        )
        for w in reversed(found)
    )


class LazyStates(Sequence[State]):
    """``states(routes)``, made when first read: the states of a block
    whose paths are all literal, which cannot be too large when its paths
    have fewer segments than the limit (its states are the trie's nodes:
    at most one per segment, and the root). Building a module for the WSGI
    or ASGI target never reads them (the module's tables are built when it
    is imported), and they are a fifth of a 100,000-route build."""

    __slots__ = ("_limit", "_routes", "_states")

    def __init__(self, routes: tuple[Route, ...], limit: int = MAX_STATES) -> None:
        # Made by block_states, which has checked that they fit.
        self._routes: tuple[Route, ...] | None = routes
        self._limit = limit
        self._states: tuple[State, ...] = ()

    def _made(self) -> tuple[State, ...]:
        if self._routes is not None:
            self._states = states(self._routes, self._limit)
            self._routes = None
        return self._states

    @overload
    def __getitem__(self, index: int) -> State: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[State]: ...
    def __getitem__(self, index: int | slice) -> State | Sequence[State]:
        return self._made()[index]

    def __len__(self) -> int:
        return len(self._made())

    def __iter__(self) -> Iterator[State]:
        return iter(self._made())

    def __reversed__(self) -> Iterator[State]:
        return reversed(self._made())


def block_states(routes: tuple[Route, ...], limit: int = MAX_STATES) -> Sequence[State]:
    """``states(routes, limit)``, made now when it may be too large (TableTooLarge
    is a build error), else when first read (``LazyStates``)."""
    literal = not any(r.path.captures for r in routes)
    if literal and 1 + sum(len(r.path.segments) for r in routes) <= limit:
        return LazyStates(routes, limit)
    return states(routes, limit)
