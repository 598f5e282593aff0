"""Parse tree -> IR (``RouteTable``), with every semantic error found.

``lower`` never stops at the first problem: it returns the table it could
build and all diagnostics, so ``lint`` reports everything in one run. A
table that comes with an error diagnostic must not be compiled.
"""

from __future__ import annotations

import difflib
import keyword
from dataclasses import dataclass, field, replace

from lark import Token, Tree

from ..diagnostics import Diagnostic
from ..ir import (
    DEFAULT_CACHE,
    AppTarget,
    Arg,
    Block,
    FactoryTarget,
    HostPattern,
    PathPattern,
    RedirectTarget,
    Route,
    RouteTable,
    StatusTarget,
    Target,
    Use,
)
from ..source import Span
from .patterns import (
    PatternError,
    is_dotted,
    parse_host,
    parse_path,
    parse_url,
    redirect_host_part,
)

RESERVED = frozenset({"status", "redirect"})
REDIRECT_CODES = (301, 302, 303, 307, 308)


def span_of(node: Tree | Token) -> Span:
    """Where a token, or a tree (from its first token to its last), is."""
    if isinstance(node, Token):
        return Span(node.line, node.column, node.end_line, node.end_column)
    first, last = _edge(node, 0), _edge(node, -1)
    if first is None or last is None:  # pragma: no cover - every tree holds a token
        return Span(0, 0, 0, 0)
    return Span(first.line, first.column, last.end_line, last.end_column)


def _edge(node: Tree | Token | None, end: int) -> Token | None:
    """The first (``end`` 0) or last (-1) token of a tree. (The parser does
    not propagate positions to trees: that cost a tenth of a large build;
    keywords are kept in the tree instead, so a statement starts at its
    keyword.)"""
    top = node
    while isinstance(node, Tree):  # the usual case: no empty subtree or None on the way
        if not node.children or node.children[end] is None:
            return _edge_searched(top, end)
        node = node.children[end]
    return node


def _edge_searched(node: Tree | Token | None, end: int) -> Token | None:
    """``_edge`` past empty subtrees (an empty block's braces are not kept)."""
    if node is None or isinstance(node, Token):
        return node
    for child in node.children if end == 0 else reversed(node.children):
        found = _edge_searched(child, end)
        if found is not None:
            return found
    return None


@dataclass
class _Options:
    cache: int | None = None
    lazy: bool | None = None
    wsgi: bool | None = None
    cache_span: Span | None = None
    lazy_span: Span | None = None
    wsgi_span: Span | None = None


@dataclass
class _Lowerer:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    uses: dict[str, Use] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    #: Every name a `use` of the file defines (known before any is lowered).
    names: set[str] = field(default_factory=set)
    #: The paths of the routes of the current statement that had an error.
    failed: list[PathPattern | None] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help))

    # -- literals ----------------------------------------------------------

    def string(self, token: Token) -> str | None:
        body = str(token)[1:-1]
        out: list[str] = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\":
                nxt = body[i + 1 : i + 2]
                if nxt not in ('"', "\\"):
                    self.error(
                        "E003",
                        f"invalid escape '\\{nxt}' in string",
                        span_of(token).shifted(i + 1, 2),
                        help='the only escapes are \\" and \\\\',
                    )
                    return None
                out.append(nxt)
                i += 2
            else:
                out.append(c)
                i += 1
        return "".join(out)

    # -- targets -----------------------------------------------------------

    def import_ref(self, token: Token) -> tuple[str, str] | None:
        module, _, attr = str(token).partition(":")
        ok = True
        if not is_dotted(module):
            self.error(
                "E301",
                f"invalid module name '{module}'",
                span_of(token).shifted(0, len(module)),
                help="a module is a dotted path of Python identifiers: pkg.module",
            )
            ok = False
        if not is_dotted(attr):
            self.error(
                "E302",
                f"invalid attribute name '{attr}'",
                span_of(token).shifted(len(module) + 1, len(attr)),
                help="an attribute is a dotted path of Python identifiers: app or obj.wsgi_app",
            )
            ok = False
        return (module, attr) if ok else None

    def target(self, node: Tree) -> Target | str | None:
        """A Target, a use name (str) to resolve later, or None after an error."""
        kind = str(node.data)  # a plain str: lark's Token compares in Python
        span = span_of(node)
        if kind == "name_target":
            return str(node.children[0])
        if kind == "status_target":
            code = _number(node.children[1])
            if code is None or not 200 <= code <= 599:
                self.error(
                    "E305",
                    f"status code {_shown(node.children[1])} is not between 200 and 599",
                    span_of(node.children[1]),
                )
                return None
            return StatusTarget(code, span=span)
        if kind == "redirect_target":
            _keyword, code_tok, url_tok = node.children
            code = _number(code_tok)
            url = self.string(url_tok)
            ok = True
            if code not in REDIRECT_CODES:
                self.error(
                    "E306",
                    f"redirect code {_shown(code_tok)} is not one of 301, 302, 303, 307, 308",
                    span_of(code_tok),
                )
                ok = False
            if url is None:
                return None
            try:
                parts = parse_url(url)
            except PatternError as exc:
                self.error(
                    "E307",
                    exc.message,
                    span_of(url_tok).shifted(_raw_offsets(str(url_tok))[exc.offset], exc.width),
                    exc.help,
                )
                return None
            if not ok:
                return None
            # Offsets into the token as written (quote and escapes included).
            raw = _raw_offsets(str(url_tok))
            parts = tuple(replace(p, offset=raw[p.offset]) for p in parts)
            assert code is not None
            return RedirectTarget(code, url, parts, span=span, url_span=span_of(url_tok))
        ref = self.import_ref(node.children[0])
        if kind == "import_target":
            return AppTarget(*ref, span=span) if ref else None
        args: list[Arg] = []
        ok = ref is not None
        for child in node.children[1:-1]:  # the arguments, between the name and ")"
            if child is None:
                continue
            if child.data == "capture_arg":
                args.append(Arg("capture", str(child.children[0]), span_of(child)))
            elif child.data == "int_arg":
                number = _number(child.children[0])
                if number is None:
                    self.error(
                        "E310",
                        f"integer argument has more than {MAX_DIGITS} digits",
                        span_of(child),
                        help="pass it as a string and convert it in the factory",
                    )
                    ok = False
                else:
                    args.append(Arg("int", number, span_of(child)))
            else:
                value = self.string(child.children[0])
                if value is None:
                    ok = False
                else:
                    args.append(Arg("str", value, span_of(child)))
        if not ok:
            return None
        return FactoryTarget(ref[0], ref[1], tuple(args), span=span)

    def options(self, nodes: list[Tree]) -> _Options:
        opts = _Options()
        for node in nodes:
            span = span_of(node)
            if node.data == "cache_option":
                if opts.cache_span is not None:
                    self.error("E309", "'cache' is given twice", span)
                    continue
                size = _number(node.children[1])
                if size is None or size < 0:
                    what = "negative" if str(node.children[1]).startswith("-") else "too large"
                    self.error(
                        "E309",
                        f"cache size {_shown(node.children[1])} is {what}",
                        span_of(node.children[1]),
                    )
                    continue
                opts.cache, opts.cache_span = size, span
            elif node.data == "lazy_option":
                if opts.lazy_span is not None:
                    self.error("E309", "'lazy' is given twice", span)
                    continue
                opts.lazy, opts.lazy_span = True, span
            else:
                if opts.wsgi_span is not None:
                    self.error("E309", "'wsgi' is given twice", span)
                    continue
                opts.wsgi, opts.wsgi_span = True, span
        return opts

    def apply(self, target: Target, opts: _Options) -> Target:
        """Apply options to a target; report those that do not apply."""
        if opts.cache is not None:
            if isinstance(target, FactoryTarget):
                target = replace(target, cache=opts.cache)
            else:
                self.error(
                    "E308",
                    "'cache' applies only to a factory target",
                    opts.cache_span,
                    help="a factory is written module:function(args)",
                )
        if opts.lazy is not None:
            if isinstance(target, AppTarget | FactoryTarget):
                target = replace(target, lazy=opts.lazy)
            else:
                self.error(
                    "E308", "'lazy' applies only to an application or a factory", opts.lazy_span
                )
        if opts.wsgi is not None:
            if isinstance(target, AppTarget | FactoryTarget):
                target = replace(target, wsgi=opts.wsgi)
            else:
                self.error(
                    "E308", "'wsgi' applies only to an application or a factory", opts.wsgi_span
                )
        return target

    # -- statements --------------------------------------------------------

    def use(self, node: Tree) -> None:
        _keyword, name_tok, target_node, *option_nodes = node.children
        name = str(name_tok)
        span = span_of(name_tok)
        if name in RESERVED or keyword.iskeyword(name):
            kind = "a Python keyword" if keyword.iskeyword(name) else "a keyword"
            self.error("E108", f"'{name}' is {kind} and cannot name a target", span)
            self._placeholder(name)
            return
        target = self.target(target_node)
        opts = self.options(option_nodes)
        if isinstance(target, str):
            # Naming itself or nothing defined: most likely a target without ":attr".
            help_text = f"a target is module:attr, e.g. {target}:app"
            if target == name:
                message = f"'use {name}' names itself, not a target"
            elif target in self.names:
                message = f"'use {name}' names another name ('{target}'), not a target"
                help_text = f"write the target of '{target}' here, or use '{target}' directly"
            else:
                message = f"'use {name}' names '{target}', which is not a target"
            self.error("E107", message, span_of(target_node), help=help_text)
            self._placeholder(name)
            return
        if name in self.uses:
            first = self.uses[name].span
            self.error(
                "E102",
                f"'{name}' is already defined at {first.line}:{first.column}",
                span,
            )
            return
        if target is None:
            self._placeholder(name)
            return
        self.uses[name] = Use(name, self.apply(target, opts), span=span)

    def _placeholder(self, name: str) -> None:
        """Remember a broken `use`: routes naming it add no E101 noise, and
        it stays out of the IR (so no warning is drawn from it)."""
        self.broken.add(name)

    def route(self, node: Tree, host_patterns: tuple[HostPattern, ...]) -> Route | None:
        """The Route, or None after an error (its path is kept in ``failed``)."""
        path = self.path(node.children[0])
        route = self._route(node, path, host_patterns)
        if route is None:
            self.failed.append(path)
        return route

    def _route(
        self, node: Tree, path: PathPattern | None, host_patterns: tuple[HostPattern, ...]
    ) -> Route | None:
        path_tok, target_node, *option_nodes = node.children
        span = span_of(node)
        raw = self.target(target_node)
        opts = self.options(option_nodes)
        use_name = None
        if isinstance(raw, str):
            use_name = raw
            known = self.uses.get(raw)
            if raw in self.broken and known is None:
                return None
            if known is None:
                self.error(
                    "E101", f"undefined name '{raw}'", span_of(target_node), self._suggest(raw)
                )
                return None
            self.used.add(raw)
            target = known.target
        else:
            target = raw
        if path is not None and host_patterns:
            self.check_overlap(path, host_patterns, path.span)
        if target is None or path is None:
            return None
        target = self.apply(target, opts)
        if not self.captures_ok(path, target, host_patterns, target_node, use_name):
            return None
        return Route(path, target, use_name, span=span)

    def _suggest(self, name: str) -> str | None:
        close = difflib.get_close_matches(name, list(self.uses), n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        return "define it with: use NAME = module:attr"

    def path(self, token: Token) -> PathPattern | None:
        try:
            return parse_path(str(token), span_of(token))
        except PatternError as exc:
            span = span_of(token).shifted(exc.offset, exc.width)
            self.error(exc.code or "E202", exc.message, span, exc.help)
            return None

    def check_overlap(
        self, path: PathPattern, host_patterns: tuple[HostPattern, ...], path_span: Span
    ) -> None:
        """E304: one name captured by the host pattern and by the path."""
        captures = path.captures
        if not captures:
            return
        host_any = {c for p in host_patterns for c in p.captures}
        for name in captures:
            if name in host_any:
                at = path.text.find("{" + name + "}")
                self.error(
                    "E304",
                    f"capture '{name}' is captured by the host pattern and by the path",
                    path_span.shifted(at, len(name) + 2),
                    help="rename one of the two captures",
                )

    def captures_ok(
        self,
        path: PathPattern,
        target: Target,
        host_patterns: tuple[HostPattern, ...],
        target_node: Tree | Token,
        use_name: str | None = None,
    ) -> bool:
        """E303: every capture a target uses is captured for every request.

        For a target named by a `use`, the error is at the route (the `use`
        is fine for the routes that capture the name) and says where the
        `use` needs it."""
        needed: list[tuple[str, Span]] = []
        if isinstance(target, FactoryTarget):
            needed = [(a.value, a.span) for a in target.args if a.kind == "capture"]
        elif isinstance(target, RedirectTarget):
            needed = [
                (p.value, target.url_span.shifted(p.offset, len(p.value) + 2))
                for p in target.parts
                if p.kind == "capture"
            ]
        if not needed:
            return True
        ok = True
        host_any = {c for p in host_patterns for c in p.captures}
        if host_patterns:
            host_all = set.intersection(*(set(p.captures) for p in host_patterns))
        else:
            host_all = set()
        available = host_all | set(path.captures)
        for name, span in needed:
            if name not in available:
                where = " by every host pattern" if name in host_any else ""
                message = f"'{name}' is not a capture of this route{where}"
                if use_name is not None:
                    at = f" at {span.line}:{span.column}" if span.line else ""
                    message += f"; 'use {use_name}' needs it{at}"
                    span = span_of(target_node)
                self.error(
                    "E303",
                    message,
                    span if span.line else span_of(target_node),
                    help=_capture_help(path, host_patterns),
                )
                ok = False
        return ok

    def host_pattern(self, node: Tree) -> HostPattern | None:
        token = node.children[0]
        scheme, sep, rest = str(token).partition("://")
        if sep and scheme.isascii() and scheme.isalpha():
            host = rest.partition("/")[0] or "example.com"
            self.error(
                "E201",
                f"a host pattern has no scheme ('{scheme}://')",
                span_of(token).shifted(0, len(scheme) + len(sep)),
                help=f"write: host {host}",
            )
            return None
        try:
            return parse_host(str(token), span_of(token))
        except PatternError as exc:
            span = span_of(token).shifted(exc.offset, exc.width)
            self.error(exc.code or "E201", exc.message, span, exc.help)
            return None

    def block(self, block_node: Tree, patterns: tuple[HostPattern, ...]) -> list[Route]:
        return [
            r for r in (self.route(n, patterns) for n in block_node.children if n is not None) if r
        ]


#: Integers in a routing file have at most this many digits (Python refuses
#: to convert strings of more than 4,300, and no status, size or argument
#: needs more).
MAX_DIGITS = 100


def _number(token: Token) -> int | None:
    """The value of an INT token, or None when it is absurdly long."""
    text = str(token)
    if len(text.lstrip("-")) > MAX_DIGITS:
        return None
    return int(text)


def _shown(token: Token) -> str:
    text = str(token)
    return text if len(text) <= 12 else text[:6] + "..." + text[-3:]


def _raw_offsets(token: str) -> list[int]:
    """For each character of a quoted string token's value (and one past
    its end), its offset in the token as written: quote and escapes count."""
    offsets = []
    raw = 1  # the opening quote
    while raw < len(token) - 1:
        offsets.append(raw)
        raw += 2 if token[raw] == "\\" else 1
    offsets.append(raw)
    return offsets


def _capture_help(path: PathPattern, hosts: tuple[HostPattern, ...]) -> str:
    names = sorted(set(path.captures) | {c for p in hosts for c in p.captures})
    if names:
        return "captures here: " + ", ".join(names)
    return "capture it in the path (/{name}) or the host ({name}.example.com)"


def lower(tree: Tree) -> tuple[RouteTable, list[Diagnostic]]:
    lw = _Lowerer()
    # With each statement's kind as a plain str (lark's Token compares in Python).
    statements = [(str(c.data), c) for c in tree.children if isinstance(c, Tree)]
    lw.names = {str(n.children[1]) for kind, n in statements if kind == "use_stmt"}
    # `use` first: a name may be used before the line that defines it.
    for kind, node in statements:
        if kind == "use_stmt":
            lw.use(node)

    blocks: list[Block] = []
    default_routes: list[Route] = []
    default_span: Span | None = None
    default_node_span: Span | None = None
    default_failed: list[PathPattern | None] = []
    hosts_lost = False
    for kind, node in statements:
        lw.failed = []
        if kind == "host_block":
            _keyword, *pattern_nodes, block_node = node.children
            patterns = tuple(p for p in (lw.host_pattern(n) for n in pattern_nodes) if p)
            hosts_lost = hosts_lost or len(patterns) < len(pattern_nodes)
            routes = lw.block(block_node, patterns)
            if patterns:
                blocks.append(
                    Block(
                        tuple(sorted(patterns, key=_pattern_key)),
                        _sorted_routes(routes),
                        span=span_of(node),
                        failed=tuple(lw.failed),
                    )
                )
        elif kind == "default_block":
            span = span_of(node)
            if default_node_span is not None:
                first = default_node_span
                lw.error(
                    "E106",
                    f"a second default block (the first is at {first.line}:{first.column})",
                    Span.point(span.line, span.column, len("default")),
                    help="merge the two default blocks",
                )
            else:
                default_node_span = span
            default_routes.extend(lw.block(node.children[1], ()))
            default_failed += lw.failed
            default_span = default_span or span
        elif kind == "route":
            route = lw.route(node, ())
            if route:
                default_routes.append(route)
            default_failed += lw.failed
            default_span = default_span or span_of(node)

    default = None
    if default_span is not None:
        default = Block(
            (), _sorted_routes(default_routes), span=default_span, failed=tuple(default_failed)
        )
    # Statement order never matters (SPEC §7), so the IR does not keep it
    # (each block's patterns and routes are sorted as it is made).
    blocks.sort(key=lambda b: [_pattern_key(p) for p in b.patterns])
    uses = tuple(sorted(lw.uses.values(), key=lambda u: u.name))
    table = RouteTable(
        uses, tuple(blocks), default, referenced=frozenset(lw.used), hosts_lost=hosts_lost
    )
    _check_routes(lw, table)
    _check_hosts(lw, table)
    _check_redirects(lw, table)
    return table, lw.diagnostics


def _pattern_key(pattern: HostPattern) -> str:
    return pattern.text


def _sorted_routes(routes: list[Route] | tuple[Route, ...]) -> tuple[Route, ...]:
    """In a canonical order, by path (which holds no precedence: that is
    ``dispatchc.plan.order``'s)."""
    return tuple(sorted(routes, key=lambda r: r.path.text))


def _check_routes(lw: _Lowerer, table: RouteTable) -> None:
    for block in table.all_blocks():
        if len(block.routes) < 2:
            continue  # nothing to repeat (most host blocks have one route)
        seen: dict[tuple[str | None, ...], Route] = {}
        for route in sorted(block.routes, key=lambda r: (r.span.line, r.span.column)):
            first = seen.setdefault(route.path.shape, route)
            if first is route:
                continue
            where = "the default block" if block.is_default else f"host {block.patterns[0].text}"
            same = "" if first.path.text == route.path.text else f' (same as "{first.path.text}")'
            lw.error(
                "E103",
                f'duplicate route "{route.path.text}"{same} in {where}',
                route.path.span,
                help=f"the first is at {first.span.line}:{first.span.column}",
            )


def _check_redirects(lw: _Lowerer, table: RouteTable) -> None:
    """E311: a redirect whose scheme or host a request can choose (SPEC §1).

    Whether a capture is a host capture depends on the route, so a redirect
    named by a `use` is checked for each route that uses it (and reported
    once per place in its URL)."""
    reported: set[tuple[Span, str]] = set()
    for block in table.all_blocks():
        host_captures = {c for p in block.patterns for c in p.captures}
        for route in block.routes:
            target = route.target
            if not isinstance(target, RedirectTarget):
                continue
            found = redirect_host_part(target.parts, host_captures)
            if found is None:
                continue
            part, message, help = found
            span = target.url_span.shifted(part.offset, len(part.value) + 2)
            if (span, message) not in reported:
                reported.add((span, message))
                lw.error("E311", message, span, help)


def _check_hosts(lw: _Lowerer, table: RouteTable) -> None:
    seen: dict[tuple[object, ...], HostPattern] = {}
    patterns = [p for b in table.blocks for p in b.patterns]
    for pattern in sorted(patterns, key=lambda p: (p.span.line, p.span.column)):
        first = seen.setdefault(pattern.overlap_key, pattern)
        if first is pattern:
            continue
        at = f"{first.span.line}:{first.span.column}"
        if first.text == pattern.text:
            lw.error(
                "E104",
                f"host pattern '{pattern.text}' is already used at {at}",
                pattern.span,
                help="a host pattern may appear in one block only",
            )
        else:
            lw.error(
                "E105",
                f"host pattern '{pattern.text}' is ambiguous with '{first.text}' at {at}",
                pattern.span,
                help="they match the same hosts with the same precedence",
            )


__all__ = ["lower", "span_of", "DEFAULT_CACHE"]
