"""The reference matcher: SPEC §2-§3 read plainly over the IR.

It is deliberately written apart from the generated code (no shared tables,
no automaton): it takes the precedence of ``order.py`` (the one every target
and tool follows) and tries each host pattern, then each route, in that
order. Tests check that the generated module agrees with it on random tables
and requests, ``explain`` uses it to show its reasoning, and lint runs it on
the partial table of a file with errors (which has no plan).
"""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ir import Block, FactoryTarget, HostPattern, Route, RouteTable
from .order import host_key, ordered_routes
from .plan import route_name

_HOST_OK = set(string.ascii_lowercase + string.digits + "-_.")


@dataclass(frozen=True)
class Host:
    name: str
    port: int


def request_host(environ: Mapping[str, Any]) -> Host | None:
    """The normalised (host, port) of a request, or None for a 400 (SPEC §2)."""
    found = check_host(environ)
    return found if isinstance(found, Host) else None


def check_host(environ: Mapping[str, Any]) -> Host | str:
    """The normalised (host, port) of a request, or, for a 400, why not (in
    words, for ``explain``)."""
    raw = environ.get("HTTP_HOST")
    if raw:
        if any(ord(c) > 127 for c in raw):
            return "it holds a non-ASCII character"
        raw = raw.lower()
        if raw.startswith("["):
            close = raw.find("]")
            if close < 0:
                return "'[' is not closed"
            name, rest = raw[: close + 1], raw[close + 1 :]
            if rest and not rest.startswith(":"):
                return f"{rest!r} follows ']'"
            port_text = rest[1:] if rest else None
        elif ":" in raw:
            name, port_text = raw.rsplit(":", 1)
        else:
            name, port_text = raw, None
    else:
        name = environ.get("SERVER_NAME") or ""
        if any(ord(c) > 127 for c in name):
            return "SERVER_NAME holds a non-ASCII character"
        name = name.lower()
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"
        port_text = environ.get("SERVER_PORT") or None
    if port_text is None:
        port = 443 if environ.get("wsgi.url_scheme") == "https" else 80
    else:
        if port_text == "":
            return "the port is empty"
        if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
            return f"the port {port_text!r} is not a number of at most 5 digits"
        port = int(port_text)
        if not 1 <= port <= 65535:
            return f"the port {port} is not 1-65535"
    if name.endswith("."):
        name = name[:-1]
    if name.startswith("["):
        if not name.endswith("]"):
            return "'[' is not closed"
        if "%" in name:
            return "IPv6 zone identifiers are not allowed"
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return f"{name} is not an IPv6 address"
        return Host(name, port)
    if not name:
        return "the host is empty"
    if len(name) > 253:
        return f"it is {len(name)} characters long (at most 253)"
    if any(label == "" for label in name.split(".")):
        return "it has an empty label"
    bad = next((c for c in name if c not in _HOST_OK), None)
    if bad is not None:
        return f"it holds {bad!r} (allowed: a-z 0-9 - _ .)"
    return Host(name, port)


def host_matches(pattern: HostPattern, host: Host) -> dict[str, str] | None:
    """The captures if ``pattern`` matches ``host``, else None."""
    if pattern.port is not None and pattern.port != host.port:
        return None
    if pattern.kind == "exact":
        return {} if host.name == pattern.host else None
    labels = host.name.split(".")
    suffix = list(pattern.suffix)
    head = labels[: len(labels) - len(suffix)]
    if len(labels) <= len(suffix) or labels[len(head) :] != suffix:
        return None
    if pattern.kind == "wildcard":
        return {}
    if len(head) != len(pattern.captures):
        return None
    return dict(zip(pattern.captures, head, strict=True))


@dataclass(frozen=True)
class BlockChoice:
    block: Block | None  # None: no block and no default (404)
    pattern: HostPattern | None  # None for the default block
    captures: dict[str, str]
    why: str  # "exact", "pattern", "default", "none"

    @property
    def prefix(self) -> str:
        """The host part of ``dispatchc.route`` for this choice."""
        return "default" if self.pattern is None else self.pattern.text


def host_rules(table: RouteTable) -> list[tuple[HostPattern, Block]]:
    """Every host pattern with its block, in the order they are tried."""
    pairs = [(p, b) for b in table.blocks for p in b.patterns]
    return sorted(pairs, key=lambda pb: host_key(pb[0]))


def choose_block(table: RouteTable, environ: Mapping[str, Any]) -> BlockChoice | None:
    """The block for a request; None when the host is invalid (400)."""
    if not table.has_hosts:
        return BlockChoice(table.default, None, {}, "default" if table.default else "none")
    host = request_host(environ)
    if host is None:
        return None
    for pattern, block in host_rules(table):
        captures = host_matches(pattern, host)
        if captures is not None:
            why = "exact" if pattern.kind == "exact" else "pattern"
            return BlockChoice(block, pattern, captures, why)
    if table.default is not None:
        return BlockChoice(table.default, None, {}, "default")
    return BlockChoice(None, None, {}, "none")


@dataclass(frozen=True)
class Candidate:
    """A route that matches the path, with what it would do."""

    route: Route
    captures: dict[str, str]
    script_name: str
    path_info: str

    def args(self) -> tuple[Any, ...]:
        target = self.route.target
        assert isinstance(target, FactoryTarget)
        return tuple(
            self.captures[a.value] if a.kind == "capture" else a.value for a in target.args
        )


def path_candidates(choice: BlockChoice, environ: Mapping[str, Any]) -> list[Candidate]:
    """Routes of the chosen block that match PATH_INFO, in precedence order."""
    if choice.block is None:
        return []
    path_info = environ.get("PATH_INFO", "")
    script = environ.get("SCRIPT_NAME", "")
    out = []
    for route in ordered_routes(choice.block.routes):
        segments = route.path.segments
        if not segments:
            out.append(Candidate(route, dict(choice.captures), script, path_info))
            continue
        if not path_info.startswith("/"):
            continue
        pieces = path_info.split("/")[1:]
        if len(pieces) < len(segments):
            continue
        captures = dict(choice.captures)
        for seg, piece in zip(segments, pieces, strict=False):
            if seg.literal is not None:
                if piece != seg.literal:
                    break
            else:
                if not piece:
                    break
                captures[seg.capture] = piece  # type: ignore[index]
        else:
            matched = "/" + "/".join(pieces[: len(segments)])
            out.append(Candidate(route, captures, script + matched, path_info[len(matched) :]))
    return out


@dataclass
class Outcome:
    """What a request gets: a status (400/404) or a handling candidate."""

    status: int | None = None
    choice: BlockChoice | None = None
    candidate: Candidate | None = None
    tried: list[Candidate] = field(default_factory=list)  # fell through (factory -> None)
    remaining: list[Candidate] = field(default_factory=list)  # the fallback chain after it

    @property
    def route_name(self) -> str | None:
        if self.candidate is None or self.choice is None:
            return None
        return route_name(self.choice.prefix, self.candidate.route.path)


FactoryResult = Callable[[Route, tuple[Any, ...]], bool]


def dispatch(
    table: RouteTable,
    environ: Mapping[str, Any],
    returns_app: FactoryResult = lambda route, args: True,
) -> Outcome:
    """Decide a request. ``returns_app(route, args)`` says whether a factory
    call would return an app (True) or None (False)."""
    choice = choose_block(table, environ)
    if choice is None:
        return Outcome(status=400)
    candidates = path_candidates(choice, environ)
    tried = []
    for i, cand in enumerate(candidates):
        if isinstance(cand.route.target, FactoryTarget) and not returns_app(
            cand.route, cand.args()
        ):
            tried.append(cand)
            continue
        return Outcome(None, choice, cand, tried, candidates[i + 1 :])
    return Outcome(status=404, choice=choice, tried=tried)


def updated_routing_args(before: Any, captures: Mapping[str, str]) -> tuple[Any, dict[str, Any]]:
    """``wsgiorg.routing_args`` after a route with captures (SPEC §3): an
    ``(args, kwargs)`` already there keeps its args and has its kwargs
    updated; anything else (None, a string, a 3-tuple, kwargs that are not
    a mapping) is taken as absent, as the generated module does."""
    if (
        isinstance(before, tuple)
        and len(before) == 2
        and isinstance(before[0], tuple | list)
        and isinstance(before[1], Mapping)
    ):
        return before[0], {**before[1], **captures}
    return (), dict(captures)
