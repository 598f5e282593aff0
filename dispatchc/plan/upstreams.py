"""Applications on several machines (SPEC §10), target-neutral.

An *owner* map says which upstream (a group of machines) serves each
application and factory, keyed by ``module:attr`` as written. From it and
the plan, this module computes, per state of each block's automaton:

- ``hops``: where the edge sends a request whose path ends in that state:
  the upstreams it tries in order (the next one when the previous answers
  421), or the built-in response (``status``/``redirect``, or 404) that
  the edge gives itself;
- ``project``: the plan one upstream's backend serves. Its chains are the
  SPEC §3 chains with other upstreams' routes met before this upstream's
  first route skipped (the edge only sends the request here after they
  fell through), and a route of another upstream met after one of this
  upstream's routes replaced by the 421 responder, which ends the chain
  (so does an empty one: no route of this upstream handles the request).
  The responder's rank is ``len(block.routes)`` of the projected block:
  one past its last route.

A chain that would come back to an upstream it left (A, then B, then A)
cannot be followed by an edge that hands a request on with 421 only; it is
an error (N102) found by ``returning_chains``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ..ir import AppTarget, FactoryTarget, Route
from .automaton import State
from .plan import BlockPlan, HostRule, Plan

#: A hop: ("proxy", upstream name) or ("respond", route rank, or None for 404).
Hop = tuple[str, str | int | None]


def app_key(route: Route) -> str | None:
    """What the owner map is keyed by: ``module:attr`` of an application or
    a factory (without its arguments); None for a built-in response."""
    target = route.target
    if isinstance(target, AppTarget | FactoryTarget):
        return target.ref
    return None


def effective_chain(block: BlockPlan, chain: tuple[int, ...]) -> tuple[int, ...]:
    """The routes of a chain that can handle a request: up to the first
    one that is not a factory (only a factory falls through)."""
    out = []
    for rank in chain:
        out.append(rank)
        if not block.routes[rank].is_factory:
            break
    return tuple(out)


def hops(block: BlockPlan, state: State, owner: Mapping[str, str]) -> tuple[Hop, ...]:
    """Where the edge sends a request that ends in ``state``, in order."""
    out: list[Hop] = []
    for rank in effective_chain(block, state.chain):
        key = app_key(block.routes[rank].route)
        hop: Hop = ("respond", rank) if key is None else ("proxy", owner[key])
        if not out or out[-1] != hop:
            out.append(hop)
        if hop[0] == "respond":
            break
    return tuple(out) or (("respond", None),)


@dataclass(frozen=True)
class Return:
    """A chain that comes back to ``upstream`` at ``route`` after ``left``."""

    block: BlockPlan
    route: Route
    upstream: str
    left: str


def returning_chains(plan: Plan, owner: Mapping[str, str]) -> list[Return]:
    """Every route at which some chain comes back to an upstream it left,
    once per (block, route)."""
    found: dict[tuple[int, int], Return] = {}
    for block in plan.blocks:
        for state in block.states:
            seen: list[str] = []
            for rank in effective_chain(block, state.chain):
                key = app_key(block.routes[rank].route)
                if key is None:
                    break
                upstream = owner[key]
                if seen and seen[-1] == upstream:
                    continue
                if upstream in seen:
                    where = (id(block), rank)
                    if where not in found:
                        found[where] = Return(block, block.routes[rank].route, upstream, seen[-1])
                    break
                seen.append(upstream)
    return sorted(found.values(), key=lambda r: (r.route.span.line, r.route.span.column))


def _projected_chain(
    block: BlockPlan, chain: tuple[int, ...], mine: frozenset[int], renumber: dict[int, int]
) -> tuple[int, ...]:
    misdirected = len(renumber)
    out: list[int] = []
    for rank in chain:
        key = app_key(block.routes[rank].route)
        if key is None or rank in mine:
            out.append(renumber[rank])
        elif out:
            out.append(misdirected)
            return tuple(out)
    return tuple(out) or (misdirected,)


def _project_block(block: BlockPlan, owner: Mapping[str, str], upstream: str) -> BlockPlan:
    mine = frozenset(
        r.rank
        for r in block.routes
        if (key := app_key(r.route)) is not None and owner.get(key) == upstream
    )
    kept = [r for r in block.routes if r.rank in mine or app_key(r.route) is None]
    renumber = {r.rank: i for i, r in enumerate(kept)}
    states = tuple(
        dataclasses.replace(s, chain=_projected_chain(block, s.chain, mine, renumber))
        for s in block.states
    )
    routes = tuple(dataclasses.replace(r, rank=renumber[r.rank]) for r in kept)
    elsewhere = tuple(r.path for r in block.routes if r.rank not in renumber)
    return dataclasses.replace(block, routes=routes, states=states, elsewhere=elsewhere)


def misdirected(block: BlockPlan) -> int:
    """The rank that stands for the 421 responder in a projected block's chains."""
    return len(block.routes)


def project(plan: Plan, owner: Mapping[str, str], upstream: str) -> Plan:
    """The plan that ``upstream``'s backend serves (see the module's doc)."""
    blocks = {id(b): _project_block(b, owner, upstream) for b in plan.blocks}
    host_blocks = tuple(blocks[id(b)] for b in plan.host_blocks)
    default = None if plan.default is None else blocks[id(plan.default)]
    hosts = tuple(HostRule(r.pattern, blocks[id(r.block)], r.index) for r in plan.hosts)
    by_block = {id(p.block): p for p in blocks.values()}
    return Plan(plan.table, host_blocks, default, hosts, by_block)
