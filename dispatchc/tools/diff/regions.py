"""The regions of requests that two routing files handle differently.

Exact, no sampling (SPEC §11). What a file does with a request depends on the
host only through the host pattern that chooses its block (or a 400, or no
block), and on the path only through the state its block's automaton stops
in. So:

1. **Hosts.** The host space is cut into classes on which both files choose
   the same way: every exact name of either file; for every literal suffix
   of a capture or ``*`` pattern, one to K+1 fresh labels before it (K: the
   most capture labels of any pattern); a host that no pattern suffix ends;
   each crossed with the ports some pattern for it names and one other port;
   and an invalid host (400), when either file looks at hosts. Fresh labels
   equal no literal of either file, so a class's witness stands for all of
   it. Each file chooses with its plan's host rules (``Plan.hosts``,
   precedence order) and the reference matcher's ``host_matches``.
2. **Paths.** For each pair of choices, the two automata are walked in
   lock-step from their roots: at each level every literal of either side,
   plus one shared "any other non-empty segment" class. A side with no edge
   for a segment stops where it is (its routes are those of that state), as
   the generated module stops. A path that ends (or meets an empty segment)
   at a pair of states is handled by those states' route chains. Below two
   states with the same handling where no route ends that only one file
   has, every path is handled alike: the walk does not go there, so two
   large files that differ in one route cost one path of the walk (plus
   the literals next to it).
3. **Handling.** A side's handling of a region is its status (400, or 404 when
   no route matches), or its chain: the route that handles it and those that
   take over when factories return None, up to the first route that always
   answers, each as its ``dispatchc.route`` (``BlockPlan.route_name``) and
   target without options. Equal chains give equal handling for every
   request of the region (same route means same captures and split).
4. **Regions.** Requests with the same pair (old handling, new handling) form
   one region; a region whose two handlings differ is a change, reported
   with the first request found in it (breadth first: the shortest path).

Reordering a file changes nothing here: the plan fixes every order.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

from ...front.patterns import MAX_HOST
from ...ir import FactoryTarget, target_text
from ...plan import BlockPlan, HostRule, Plan
from ...plan.matcher import Host, host_matches

#: A side's handling of a region: ("status", 400 | 404) or ("routes", chain),
#: the chain a tuple of (dispatchc.route, target without options).
Key = tuple[object, ...]

NOT_FOUND: Key = ("status", 404)
BAD_HOST: Key = ("status", 400)

#: A host that is invalid for every file (an empty label): SPEC §2 gives 400.
INVALID_HOST = "bad..host"


@dataclass(frozen=True, slots=True)
class Side:
    """What one file does with a class of hosts: a status for every path
    (``status``), or a block chosen by its pattern ``pattern`` (0 for the
    default block)."""

    status: int | None
    block: BlockPlan | None = None
    pattern: int = 0

    @property
    def name(self) -> str:
        """The host part of its routes' ``dispatchc.route``, or its status."""
        return str(self.status) if self.block is None else self.block.prefixes[self.pattern]


@dataclass(frozen=True, slots=True)
class Region:
    """Requests that both files handle in one way each: ``old`` and ``new``
    are the two handlings, ``url`` the first request found in it."""

    url: str
    old: Key
    new: Key


# -- fresh names --------------------------------------------------------------------


def _taken(plans: Iterable[Plan]) -> set[str]:
    """Every literal of the files: path segments, host labels, constant
    factory arguments. A witness is built from names outside it."""
    out: set[str] = set()
    for plan in plans:
        for block in plan.blocks:
            for pattern in block.patterns:
                out.update(pattern.suffix)
            for route in block.routes:
                out.update(s.literal for s in route.path.segments if s.literal is not None)
                target = route.target
                if isinstance(target, FactoryTarget):
                    out.update(str(a.value) for a in target.args if a.kind != "capture")
    return out


def _fresh(prefix: str, count: int, taken: set[str]) -> list[str]:
    """``count`` distinct names ``{prefix}1``, ``{prefix}2``... none of them taken."""
    out = []
    n = 0
    while len(out) < count:
        n += 1
        name = f"{prefix}{n}"
        if name not in taken:
            out.append(name)
    return out


# -- hosts -----------------------------------------------------------------------------


class _Chooser:
    """One file's host selection (SPEC §2) with its plan's rules: the first
    rule in ``Plan.hosts`` whose pattern matches. Rules are indexed by exact
    name and by suffix so that a host costs a few lookups."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.exact: dict[str, list[tuple[int, HostRule]]] = {}
        self.suffix: dict[tuple[str, ...], list[tuple[int, HostRule]]] = {}
        for rank, rule in enumerate(plan.hosts):
            pattern = rule.pattern
            if pattern.kind == "exact":
                self.exact.setdefault(pattern.host, []).append((rank, rule))
            else:
                self.suffix.setdefault(pattern.suffix, []).append((rank, rule))

    def rules(self, name: str) -> list[tuple[int, HostRule]]:
        """The rules that may match ``name`` on some port."""
        found = list(self.exact.get(name, ()))
        if self.suffix:
            labels = tuple(name.split("."))
            for i in range(1, len(labels)):
                found += self.suffix.get(labels[i:], ())
        return found

    def side(
        self, name: str | None, port: int, rules: list[tuple[int, HostRule]] | None = None
    ) -> Side:
        """The choice for a valid host, or (``name`` None) an invalid one;
        ``rules``: ``self.rules(name)``, when known."""
        plan = self.plan
        if plan.has_hosts:
            if name is None:
                return Side(400)
            host = Host(name, port)
            best: tuple[int, HostRule] | None = None
            for rank, rule in self.rules(name) if rules is None else rules:
                if (best is None or rank < best[0]) and host_matches(
                    rule.pattern, host
                ) is not None:
                    best = (rank, rule)
            if best is not None:
                return Side(None, best[1].block, best[1].index)
        if plan.default is None:
            return Side(404)
        return Side(None, plan.default, 0)


def _other_port(ports: set[int]) -> int:
    for port in (80, 443, 8080):
        if port not in ports:
            return port
    return next(p for p in range(8000, 65536) if p not in ports)


def _host_names(plans: tuple[Plan, Plan], taken: set[str]) -> list[str]:
    """A witness name for every class of valid host names."""
    patterns = [rule.pattern for plan in plans for rule in plan.hosts]
    exact = sorted({p.host for p in patterns if p.kind == "exact"})
    suffixes = sorted({p.suffix for p in patterns if p.kind != "exact"})
    most = max((len(p.captures) for p in patterns), default=0)
    labels = _fresh("h", most + 1, taken)
    # One-character labels, for a suffix so long that "h1." would not fit.
    short = [c for c in string.ascii_lowercase + string.digits if c not in taken]
    names = list(exact)
    for suffix in suffixes:
        for k in range(1, most + 2):
            name = ".".join([*labels[:k], *suffix])
            if len(name) > MAX_HOST and k <= len(short):
                name = ".".join([*short[:k], *suffix])
            if len(name) <= MAX_HOST:  # else no valid host has k labels more
                names.append(name)
    # A host that ends in no pattern's suffix: a name under the reserved
    # ".example" when no pattern ends in it, else a single fresh label.
    other = f"{labels[0]}.example"
    names.append(labels[0] if any(p.suffix[-1] == "example" for p in patterns) else other)
    return names


def _host_url(name: str, port: int) -> str:
    if port == 80:
        return f"http://{name}"
    if port == 443:
        return f"https://{name}"
    return f"http://{name}:{port}"


def host_classes(
    old: Plan, new: Plan, taken: set[str] | None = None
) -> list[tuple[str, Side, Side]]:
    """``(witness scheme://host[:port], old side, new side)`` for every pair of
    choices some host gets, in a fixed order (exact names first). ``taken``:
    ``_taken((old, new))``, when known."""
    old_chooser, new_chooser = _Chooser(old), _Chooser(new)
    if taken is None:
        taken = _taken((old, new))
    found: dict[tuple[Side, Side], str] = {}
    if old.has_hosts or new.has_hosts:
        for name in _host_names((old, new), taken):
            old_rules, new_rules = old_chooser.rules(name), new_chooser.rules(name)
            ports = {r.pattern.port for _, r in old_rules + new_rules if r.pattern.port is not None}
            for port in [_other_port(ports), *sorted(ports)]:
                pair = (
                    old_chooser.side(name, port, old_rules),
                    new_chooser.side(name, port, new_rules),
                )
                found.setdefault(pair, _host_url(name, port))
        pair = (old_chooser.side(None, 80), new_chooser.side(None, 80))
        found.setdefault(pair, f"http://{INVALID_HOST}")
    else:
        pair = (old_chooser.side("example.com", 80), new_chooser.side("example.com", 80))
        found[pair] = "http://example.com"
    return [(url, a, b) for (a, b), url in found.items()]


# -- paths ---------------------------------------------------------------------------------


class _Routes:
    """Each block's routes as (path, target without options), by rank:
    computed once per block."""

    def __init__(self) -> None:
        self.cache: dict[int, list[tuple[str, str]]] = {}

    def of(self, block: BlockPlan | None) -> list[tuple[str, str]]:
        if block is None:
            return []
        found = self.cache.get(id(block))
        if found is None:
            found = self.cache[id(block)] = [
                (r.path.text, target_text(r.target, False)) for r in block.routes
            ]
        return found


class _Side:
    """One file's side of a walk: its handling and edges per automaton state,
    computed on demand. A side without a block has one state, None, with no
    edge. ``dirty`` holds every state where a route ends that the other file
    does not have (the same path with the same target), and the states
    above it."""

    def __init__(self, side: Side, routes: list[tuple[str, str]], others: set[tuple[str, str]]):
        self.side = side
        self.block = block = side.block
        self.root = None if block is None else block.root.index
        self.routes = routes
        self.keys: dict[int | None, Key] = {}
        self.edges: dict[int, tuple[dict[str, int], int | None]] = {}
        self.names: dict[int, str] = {}
        self.dirty: set[int] = set()
        if block is not None:
            changed = {rank for rank, r in enumerate(routes) if r not in others}
            if changed:
                self.dirty = _dirty(block, changed)

    def key(self, state: int | None) -> Key:
        found = self.keys.get(state)
        if found is None:
            if self.block is None or state is None:
                found = BAD_HOST if self.side.status == 400 else NOT_FOUND
            else:
                chain = []
                for rank in self.block.states[state].chain:
                    route = self.block.routes[rank]
                    name = self.names.get(rank)
                    if name is None:
                        name = self.names[rank] = self.block.route_name(route, self.side.pattern)
                    chain.append((name, self.routes[rank][1]))
                    if not route.is_factory:
                        break  # it always answers: later routes are never reached
                found = ("routes", tuple(chain)) if chain else NOT_FOUND
            self.keys[state] = found
        return found

    def out(self, state: int | None) -> tuple[dict[str, int], int | None]:
        """A state's literal edges and its "any other segment" edge."""
        if self.block is None or state is None:
            return {}, None
        found = self.edges.get(state)
        if found is None:
            st = self.block.states[state]
            found = self.edges[state] = (dict(st.children), st.other)
        return found


def _dirty(block: BlockPlan, ranks: set[int]) -> set[int]:
    """The states where a route of ``ranks`` ends, and their ancestors."""
    out: set[int] = set()
    states = block.states
    for st in states:
        own = len(st.chain) - (len(states[st.parent].chain) if st.parent is not None else 0)
        if any(rank in ranks for rank in st.chain[:own]):
            index: int | None = st.index
            while index is not None and index not in out:
                out.add(index)
                index = states[index].parent
    return out


def _walk(old: _Side, new: _Side) -> Iterator[tuple[Key, Key, tuple[str | None, ...]]]:
    """Every pair of states the two automata stop in together where their
    handlings may differ, breadth first, with the steps that lead there (a
    literal, or None for "any other non-empty segment"). A side with no edge
    for a segment stays where it is and moves no more (it is not ``live``).

    Pruning: below two live states with the same handling, under the same
    host prefix, where no route ends that only one file has (neither is
    ``dirty``), both files have the same routes at the same places, so every
    path below is handled alike: that subtree is not walked."""
    queue: deque[tuple[int | None, bool, int | None, bool, tuple[str | None, ...]]]
    queue = deque([(old.root, True, new.root, True, ())])
    none: tuple[dict[str, int], None] = ({}, None)
    prune = old.block is not None and new.block is not None and old.side.name == new.side.name
    while queue:
        o, o_live, n, n_live, steps = queue.popleft()
        old_key, new_key = old.key(o), new.key(n)
        if (
            prune
            and o_live
            and n_live
            and o not in old.dirty
            and n not in new.dirty
            and old_key == new_key
        ):
            continue
        yield old_key, new_key, steps
        o_edges, o_other = old.out(o) if o_live else none
        n_edges, n_other = new.out(n) if n_live else none
        for step in [*sorted(o_edges.keys() | n_edges.keys()), None]:
            if step is None:
                o2, n2 = o_other, n_other
            else:
                o2, n2 = o_edges.get(step, o_other), n_edges.get(step, n_other)
            if o2 is None and n2 is None:
                continue
            queue.append(
                (
                    o if o2 is None else o2,
                    o2 is not None,
                    n if n2 is None else n2,
                    n2 is not None,
                    (*steps, step),
                )
            )


# -- witnesses ---------------------------------------------------------------------------

#: What a URL may hold as it is in a path segment (RFC 3986 pchar, without '%').
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


def url_segment(literal: str) -> str:
    """A path segment (PATH_INFO text: bytes as latin-1) as a URL writes it, so
    that a server puts ``literal`` back in PATH_INFO: UTF-8 text shown as
    itself when printable, anything else percent-encoded."""
    raw = literal.encode("latin-1")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return quote(raw, safe=_SEGMENT_SAFE)
    return "".join(
        c if (not c.isascii() and c.isprintable()) else quote(c, safe=_SEGMENT_SAFE) for c in text
    )


def changes(old: Plan, new: Plan) -> list[Region]:
    """Every region of requests whose handling differs between ``old`` and
    ``new``, each with the first request found in it, in the order found."""
    taken = _taken((old, new))
    seen: set[tuple[Key, Key]] = set()
    found: list[Region] = []
    segments: list[str] = []
    routes = _Routes()
    for base, old_side, new_side in host_classes(old, new, taken):
        old_routes, new_routes = routes.of(old_side.block), routes.of(new_side.block)
        a, b = set(old_routes), set(new_routes)
        if old_side.name == new_side.name and a == b:
            continue  # the same status, or the same routes under the same name
        walk = _walk(_Side(old_side, old_routes, b), _Side(new_side, new_routes, a))
        for old_key, new_key, steps in walk:
            if old_key == new_key or (old_key, new_key) in seen:
                continue
            seen.add((old_key, new_key))
            if len(steps) > len(segments):
                segments = _fresh("x", len(steps), taken)
            path = "".join(
                "/" + (url_segment(s) if s is not None else segments[i])
                for i, s in enumerate(steps)
            )
            found.append(Region(base + (path or "/"), old_key, new_key))
    return found
