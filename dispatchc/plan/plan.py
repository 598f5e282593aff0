"""The target-neutral plan: computed once from the IR, read by every target
and tool.

It holds what every consumer of a routing table needs and must agree on:
host blocks and host patterns in precedence order (SPEC §2), each block's
routes in precedence order (SPEC §3) with their ranks, the name of every
block and route (from identity, for generated code), the values of
``dispatchc.route``, each block's segment automaton, and the fallback
chain of every factory route. Order is decided in ``order.py`` only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..ir import Block, FactoryTarget, HostPattern, PathPattern, Route, RouteTable, Target
from ..source import Span
from . import order
from .automaton import MAX_STATES, State, TableTooLarge, block_states
from .names import identifier, unique


class PlanError(Exception):
    """A table that has no plan (E203): carries the diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def route_name(prefix: str, path: PathPattern) -> str:
    """The value of ``dispatchc.route`` (SPEC §3): the host pattern in ASCII
    form (``default`` for the default block), a space, the path pattern."""
    return f"{prefix} {path.text}"


@dataclass(frozen=True, eq=False, slots=True)
class RoutePlan:
    """A route of a block, at ``rank`` in its precedence order."""

    rank: int
    route: Route
    name: str  # unique in its block, from its path
    #: What SCRIPT_NAME gains when this route handles a request, when it
    #: does not depend on the request (no capture in the path); else None.
    script: str | None

    @property
    def path(self) -> PathPattern:
        return self.route.path

    @property
    def target(self) -> Target:
        return self.route.target

    @property
    def is_factory(self) -> bool:
        return isinstance(self.route.target, FactoryTarget)


@dataclass(frozen=True, eq=False, slots=True)
class BlockPlan:
    block: Block
    name: str  # unique in the file: "default", or from its most specific pattern
    patterns: tuple[HostPattern, ...]  # precedence order; empty for default
    routes: tuple[RoutePlan, ...]  # precedence order
    states: Sequence[State]  # children before parents; the root is last (automaton.block_states)
    #: In a backend's plan (``upstreams.project``): the paths of the routes
    #: that other upstreams serve, whose places in the chains went to the
    #: 421 responder; None in the plan of a whole file.
    elsewhere: tuple[PathPattern, ...] | None = None

    @property
    def is_default(self) -> bool:
        return not self.patterns

    @property
    def label(self) -> str:
        """``default`` or ``host a.example, b.example`` (patterns in order)."""
        if self.is_default:
            return "default"
        return "host " + ", ".join(p.text for p in self.patterns)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The host part of ``dispatchc.route``, per pattern (in order)."""
        return ("default",) if self.is_default else tuple(p.text for p in self.patterns)

    @property
    def depth(self) -> int:
        """Segments of its longest route: how far a request walks."""
        return max((len(r.path.segments) for r in self.routes), default=0)

    @property
    def root(self) -> State:
        return self.states[-1]

    def route_name(self, route: RoutePlan, pattern: int = 0) -> str:
        return route_name(self.prefixes[pattern], route.path)

    def route_names(self, route: RoutePlan) -> tuple[str, ...]:
        """Its ``dispatchc.route`` for each pattern of the block, in order."""
        return tuple(self.route_name(route, i) for i in range(len(self.prefixes)))

    def route_of(self, route: Route) -> RoutePlan:
        return next(r for r in self.routes if r.route is route)

    def fallbacks(self, route: RoutePlan) -> tuple[tuple[RoutePlan, ...], bool]:
        """Where a request goes when ``route``'s factory returns None: the
        later routes that may take over (depending on the path), and whether
        some paths get 404 (no later route matches every path it matches)."""
        return _fallbacks(self, route.rank)


@functools.lru_cache(maxsize=4096)
def _fallbacks(block: BlockPlan, rank: int) -> tuple[tuple[RoutePlan, ...], bool]:
    first = block.routes[rank].path.segments
    out: list[RoutePlan] = []
    for later in block.routes[rank + 1 :]:
        pairs = list(zip(first, later.path.segments, strict=False))
        # Some path matches both (the later route has no more segments).
        if all(a.literal is None or b.literal is None or a.literal == b.literal for a, b in pairs):
            out.append(later)
            # Every path the first matches, the later matches too.
            if all(b.literal is None or a.literal == b.literal for a, b in pairs):
                return tuple(out), False
    return tuple(out), True


@dataclass(frozen=True, slots=True)
class HostRule:
    """A host pattern of a block, in the order patterns are tried."""

    pattern: HostPattern
    block: BlockPlan
    index: int  # of the pattern in ``block.patterns``


@dataclass(frozen=True, eq=False)
class Plan:
    table: RouteTable
    host_blocks: tuple[BlockPlan, ...]  # by their most specific pattern
    default: BlockPlan | None
    hosts: tuple[HostRule, ...]  # every host pattern, most specific first
    _by_block: dict[int, BlockPlan] = field(repr=False, compare=False)

    @property
    def has_hosts(self) -> bool:
        """Without host blocks the host is never looked at (SPEC §2)."""
        return bool(self.host_blocks)

    @property
    def blocks(self) -> tuple[BlockPlan, ...]:
        """Host blocks in precedence order, then the default block."""
        return self.host_blocks + ((self.default,) if self.default is not None else ())

    def block_of(self, block: Block) -> BlockPlan:
        return self._by_block[id(block)]


def _too_large(block: Block, exc: TableTooLarge) -> Diagnostic:
    where = "the default block" if block.is_default else "host " + block.label
    word = "default" if block.is_default else "host"
    return Diagnostic(
        "E203",
        f"the routes of {where} cannot be compiled: {exc}",
        Span.point(block.span.line, block.span.column, len(word)),
        help="captures mixed with literals at many depths multiply the states; "
        "split the block or use fewer capture levels",
    )


def _script(path: PathPattern) -> str | None:
    if path.captures:
        return None
    return "".join("/" + (s.literal or "") for s in path.segments)


def _route_names(routes: tuple[Route, ...]) -> dict[str, str]:
    return unique(
        (r.path.text, "root" if not r.path.segments else identifier(r.path.text)) for r in routes
    )


#: A block's route names and automaton, by its paths in precedence order:
#: all they depend on.
_Shared = dict[tuple[str, ...], tuple[dict[str, str], Sequence[State]]]


def _block_plan(block: Block, name: str, limit: int, shared: _Shared) -> BlockPlan:
    routes = order.ordered_routes(block.routes)
    # Blocks with the same paths (many hosts serving the same routes) share
    # them: both are immutable.
    paths = tuple(r.path.text for r in routes)
    found = shared.get(paths)
    if found is None:
        try:
            found = shared[paths] = (_route_names(routes), block_states(routes, limit))
        except TableTooLarge as exc:
            raise PlanError([_too_large(block, exc)]) from None
    names, table = found
    return BlockPlan(
        block,
        name,
        order.ordered_patterns(block.patterns),
        tuple(
            RoutePlan(rank, r, names[r.path.text], _script(r.path)) for rank, r in enumerate(routes)
        ),
        table,
    )


def build(table: RouteTable, limit: int = MAX_STATES) -> Plan:
    """The plan of a table without errors. Raises PlanError (E203) for every
    block whose automaton would be too large."""
    host_blocks = sorted(table.blocks, key=order.block_key)
    keys = {id(b): order.ordered_patterns(b.patterns)[0].text for b in host_blocks}
    # "*" is a word of its own, so that *.example.com is not example.com's twin.
    names = unique(
        [(k, identifier(k.replace("*", "any"))) for k in keys.values()] + [("", "default")]
    )
    plans: list[BlockPlan] = []
    errors: list[Diagnostic] = []
    shared: _Shared = {}
    for block in [*host_blocks, *([table.default] if table.default is not None else [])]:
        name = names[keys[id(block)]] if id(block) in keys else names[""]
        try:
            plans.append(_block_plan(block, name, limit, shared))
        except PlanError as exc:
            errors += exc.diagnostics
    if errors:
        raise PlanError(errors)
    by_block = {id(p.block): p for p in plans}
    hosts = sorted(
        (
            HostRule(p, by_block[id(b)], i)
            for b in host_blocks
            for i, p in enumerate(by_block[id(b)].patterns)
        ),
        key=lambda rule: order.host_key(rule.pattern),
    )
    default = by_block.get(id(table.default)) if table.default is not None else None
    return Plan(
        table,
        tuple(p for p in plans if not p.is_default),
        default,
        tuple(hosts),
        by_block,
    )
