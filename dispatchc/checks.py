"""Lint rules: IR -> warnings (SPEC §7).

Errors come from the parser and ``lower`` (a table with errors cannot be
compiled); the rules here find tables that compile but probably do not do
what their author meant. Each rule is a function registered with ``@rule``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from .diagnostics import Diagnostic
from .ir import AppTarget, Block, FactoryTarget, RedirectTarget, RouteTable, StatusTarget, Target
from .matcher import BlockChoice, choose_block, path_candidates
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
    used = {r.use for b in table.all_blocks() for r in b.routes if r.use}
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
        what = "the default block" if block.is_default else f"host {block.label}"
        yield Diagnostic(
            "W102",
            f"{what} has no '/' route: paths that match none of its routes get 404",
            _keyword_span(block),
            help="add '/ -> status 404' to say so, or a route for '/'",
        )


def _identity(target: Target) -> tuple[object, ...]:
    if isinstance(target, AppTarget):
        return ("app", target.module, target.attr)
    if isinstance(target, FactoryTarget):
        return ("factory", target.module, target.attr, target.args)
    if isinstance(target, StatusTarget):
        return ("status", target.code)
    return ("redirect", target.code, target.url)


@rule
def duplicate_target(table: RouteTable) -> Iterator[Diagnostic]:
    first: dict[tuple[object, ...], str] = {}
    for use in sorted(table.uses, key=lambda u: (u.span.line, u.span.column)):
        key = _identity(use.target)
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
    candidates = path_candidates(choice, environ)
    return bool(candidates) and candidates[0].route is route
