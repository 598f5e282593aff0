"""THE precedence of SPEC §2-§3, as sort keys: the only place order is decided.

Hosts: exact patterns first; then more literal labels; at equal literal
labels a capture pattern before ``*`` and more capture labels before fewer;
only then a pattern with a port before one without. Paths: more segments
first; at equal length, a literal before a capture at the first position
where they differ. Ties that remain are patterns that can never match the
same request (or errors that lint reports), broken by text so that the
order never depends on the file's layout.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ir import Block, HostPattern, PathPattern, Route


def host_key(pattern: HostPattern) -> tuple[object, ...]:
    return (pattern.weight, pattern.text)


def path_key(path: PathPattern) -> tuple[object, ...]:
    return (path.weight, tuple(s.literal or "" for s in path.segments), path.text)


def ordered_patterns(patterns: Iterable[HostPattern]) -> tuple[HostPattern, ...]:
    return tuple(sorted(patterns, key=host_key))


def ordered_routes(routes: Iterable[Route]) -> tuple[Route, ...]:
    return tuple(sorted(routes, key=lambda r: path_key(r.path)))


def block_key(block: Block) -> tuple[object, ...]:
    """Host blocks by their most specific pattern (ties by all pattern texts)."""
    return (min(host_key(p) for p in block.patterns), sorted(p.text for p in block.patterns))
