"""Lint rules: IR -> warnings (SPEC §7).

Errors come from the parser and ``lower`` (a table with errors cannot be
compiled); the rules here find tables that compile but probably do not do
what their author meant. Each rule is a function registered with ``@rule``.

The rules also run on the partial table that ``lower`` returns with errors
(SPEC §6: every warning in one run, as ruff does), so each one takes what
an error left out into account (``RouteTable.referenced``,
``RouteTable.hosts_lost``, ``Block.failed``) rather than warn about a gap
that the error made. Such a table has no plan, so the rules read the IR;
where precedence matters (a redirect loop) they ask the reference matcher,
which follows the plan's order (``plan/order.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import urlsplit

from .diagnostics import Diagnostic
from .ir import Block, PathPattern, RedirectTarget, Route, RouteTable, StatusTarget, target_text
from .plan.matcher import BlockChoice, choose_block, path_candidates
from .source import Span

Rule = Callable[[RouteTable], Iterator[Diagnostic]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(table: RouteTable) -> list[Diagnostic]:
    return [d for fn in RULES for d in fn(table)]


def _keyword_span(block: Block) -> Span:
    word = "default" if block.is_default else "host"
    return Span.point(block.span.line, block.span.column, len(word))


@rule
def unused_use(table: RouteTable) -> Iterator[Diagnostic]:
    # Routes that had an error still count: their names are in `referenced`.
    used = {r.use for b in table.all_blocks() for r in b.routes if r.use} | table.referenced
    for use in table.uses:
        if use.name not in used:
            yield Diagnostic(
                "W101",
                f"'{use.name}' is defined but never used",
                use.span,
                help="remove the use line, or route a path to it",
            )


@rule
def no_root_route(table: RouteTable) -> Iterator[Diagnostic]:
    for block in table.all_blocks():
        if any(not r.path.segments for r in block.routes):
            continue
        if any(p is not None and not p.segments for p in block.failed):
            continue  # its '/' route is there, with an error
        what = "the default block" if block.is_default else f"host {block.label}"
        yield Diagnostic(
            "W102",
            f"{what} has no '/' route: paths that match none of its routes get 404",
            _keyword_span(block),
            help="add '/ -> status 404' to say so, or a route for '/'",
        )


@rule
def duplicate_target(table: RouteTable) -> Iterator[Diagnostic]:
    first: dict[str, str] = {}
    for use in sorted(table.uses, key=lambda u: (u.span.line, u.span.column)):
        key = target_text(use.target, with_options=False)  # what it is, options aside
        if key in first:
            yield Diagnostic(
                "W104",
                f"'{use.name}' names the same target as '{first[key]}'",
                use.span,
                help=f"use '{first[key]}' everywhere and remove this line",
            )
        else:
            first[key] = use.name


_PLACEHOLDER = "x"


def _sample_host(choice_block: Block) -> list[str]:
    """A concrete host for each pattern of a block (captures filled in)."""
    hosts = []
    for p in choice_block.patterns:
        head = [_PLACEHOLDER] * len(p.captures) if p.kind == "capture" else []
        if p.kind == "wildcard":
            head = [_PLACEHOLDER]
        name = ".".join(head + list(p.suffix))
        hosts.append(name if p.port is None else f"{name}:{p.port}")
    return hosts


@rule
def redirect_loop(table: RouteTable) -> Iterator[Diagnostic]:
    """A redirect to a URL that the same route handles again."""
    for block in table.all_blocks():
        for route in block.routes:
            target = route.target
            if not isinstance(target, RedirectTarget):
                continue
            url = "".join(
                p.value if p.kind == "text" else ("" if p.kind == "path" else _PLACEHOLDER)
                for p in target.parts
            )
            request_path = "/" + "/".join(
                s.literal if s.literal is not None else _PLACEHOLDER for s in route.path.segments
            )
            if _lands_on(table, block, route, url, request_path):
                yield Diagnostic(
                    "W103",
                    f'redirect to "{target.url}" is handled by this same route: a redirect loop',
                    target.url_span if target.url_span.line else route.span,
                    help="redirect to a path or host that another route handles",
                )


def _lands_on(table: RouteTable, block: Block, route, url: str, request_path: str) -> bool:  # type: ignore[no-untyped-def]
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        if table.hosts_lost:
            return False  # the host may belong to a block that had an error
        environ = {
            "HTTP_HOST": parts.netloc.rpartition("@")[2],
            "wsgi.url_scheme": parts.scheme,
            "PATH_INFO": path,
        }
        choice = choose_block(table, environ)
        if choice is None or choice.block is not block:
            return False
    else:
        if not url.startswith("/"):
            return False
        if not block.is_default and not _sample_host(block):
            return False
        choice = BlockChoice(block, None, {}, "same")
        environ = {"PATH_INFO": path}
    candidates = path_candidates(replace(choice, block=_with_failed(block)), environ)
    return bool(candidates) and candidates[0].route is route


def _with_failed(block: Block) -> Block:
    """The block with a stand-in for each route that had an error, so that a
    URL that one of them would handle is not taken for a loop."""
    stand_ins = tuple(Route(p, StatusTarget(404)) for p in block.failed if p is not None)
    return replace(block, routes=block.routes + stand_ins) if stand_ins else block


def _segments_as_written(path: PathPattern) -> Iterator[tuple[int, str]]:
    """(offset in the pattern as written, text) of each segment."""
    at = 1
    for raw in path.text[1:].split("/") if path.segments else ():
        yield at, raw
        at += len(raw) + 1


@rule
def glob_in_path(table: RouteTable) -> Iterator[Diagnostic]:
    for block in table.all_blocks():
        paths = [r.path for r in block.routes] + [p for p in block.failed if p is not None]
        for path in sorted(paths, key=lambda p: (p.span.line, p.span.column)):
            segments = list(_segments_as_written(path))
            for i, (at, raw) in enumerate(segments):
                if "*" not in raw:
                    continue
                parent = path.text[: at - 1] or "/"
                if raw != "*":
                    help = (
                        f"a route matches whole segments: route '{parent}' "
                        "and let the application match the rest"
                    )
                elif i == len(segments) - 1:
                    help = f"write '{parent}': a route also matches every path below it"
                else:
                    help = "write a capture such as {name} to match any one segment"
                yield Diagnostic(
                    "W105",
                    f"'*' in path segment '{raw}' is matched literally: there are no globs",
                    path.span.shifted(at, len(raw)),
                    help=help,
                )


@rule
def no_routes(table: RouteTable) -> Iterator[Diagnostic]:
    if table.hosts_lost or any(b.routes or b.failed for b in table.all_blocks()):
        return
    yield Diagnostic(
        "W106",
        "the file has no routes: every request gets 404",
        Span.point(1, 1),
        help="add a route, such as '/ -> pkg.module:application'",
    )
