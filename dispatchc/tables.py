"""Path tables: a block's routes -> a determinised segment trie.

The routes of a host block form a trie of path segments (a literal child per
distinct literal, one capture child). A request may follow a literal child
and the capture child at once, so the trie is determinised (subset
construction) into states a request walks one segment at a time with one
dict lookup. The result is kept a tree (states are never merged), so each
state knows the unique path of states above it, and its *chain* — the routes
ending at its nodes, most specific first, followed by its parent's chain — is
exactly the SPEC §3 order of the routes matching a path that ends there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from .diagnostics import Diagnostic
from .ir import Block, Route, RouteTable
from .source import Span

#: A block whose determinised table would exceed this many states is refused
#: (E203) rather than compiled into a huge module or hanging the compiler.
MAX_STATES = 200_000


class TableTooLarge(Exception):
    pass


@dataclass(eq=False)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    capture: _Node | None = None
    route: int | None = None  # index of the route ending here
    weight: tuple[int, tuple[int, ...]] | None = None


@dataclass(frozen=True)
class State:
    """``children``: literal -> state index; ``other``: state index for any
    other non-empty segment; ``chain``: route indexes in precedence order."""

    index: int
    children: tuple[tuple[str, int], ...]
    other: int | None
    chain: tuple[int, ...]


def _trie(routes: tuple[Route, ...]) -> _Node:
    root = _Node()
    for index, route in enumerate(routes):
        node = root
        for seg in route.path.segments:
            if seg.literal is not None:
                node = node.children.setdefault(seg.literal, _Node())
            else:
                if node.capture is None:
                    node.capture = _Node()
                node = node.capture
        node.route, node.weight = index, route.path.weight
    return root


@dataclass(eq=False)
class _Work:
    nodes: list[_Node]
    chain: tuple[int, ...]
    children: list[tuple[str, _Work]] = field(default_factory=list)
    other: _Work | None = None


def _work(nodes: list[_Node], parent_chain: tuple[int, ...]) -> _Work:
    own = sorted((n for n in nodes if n.route is not None), key=lambda n: n.weight or (0, ()))
    return _Work(nodes, tuple(n.route for n in own if n.route is not None) + parent_chain)


def path_states(routes: list[Route] | tuple[Route, ...], limit: int = MAX_STATES) -> list[State]:
    """The states of a block's path table (see ``_path_states``); the last
    few tables are kept, since ``lint``/``build`` check sizes before codegen
    builds the same tables."""
    return list(_cached_states(tuple(routes), limit))


@functools.lru_cache(maxsize=8)
def _cached_states(routes: tuple[Route, ...], limit: int) -> tuple[State, ...]:
    return tuple(_path_states(routes, limit))


def _path_states(routes: tuple[Route, ...], limit: int) -> list[State]:
    """The states of a block's path table, children before parents (the root
    is last). Iterative, since paths may be deep. Raises TableTooLarge past
    ``limit`` states."""
    root = _work([_trie(routes)], ())
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
            work.children.append((key, _work(nxt + captures, work.chain)))
        if captures:
            work.other = _work(captures, work.chain)
            stack.append(work.other)
        stack.extend(child for _, child in reversed(work.children))
    # Discovery order is parents first; number the reverse so that every
    # state is defined after the states it refers to.
    index = {id(w): i for i, w in enumerate(reversed(found))}
    return [
        State(
            index[id(w)],
            tuple((key, index[id(child)]) for key, child in w.children),
            None if w.other is None else index[id(w.other)],
            w.chain,
        )
        for w in reversed(found)
    ]


def too_large(block: Block, exc: TableTooLarge) -> Diagnostic:
    """E203 for a block whose path table would be too large."""
    where = "the default block" if block.is_default else "host " + block.label
    word = "default" if block.is_default else "host"
    return Diagnostic(
        "E203",
        f"the routes of {where} cannot be compiled: {exc}",
        Span.point(block.span.line, block.span.column, len(word)),
        help="captures mixed with literals at many depths multiply the states; "
        "split the block or use fewer capture levels",
    )


def check_sizes(table: RouteTable) -> list[Diagnostic]:
    """E203 for every block that cannot be compiled (``lint`` and ``build``)."""
    found = []
    for block in table.all_blocks():
        # Without captures the states are the trie's nodes: one per segment at most.
        if not any(r.path.captures for r in block.routes) and (
            sum(len(r.path.segments) for r in block.routes) < MAX_STATES
        ):
            continue
        try:
            path_states(list(block.ordered_routes()))
        except TableTooLarge as exc:
            found.append(too_large(block, exc))
    return found
