"""``dispatchc explain FILE URL``: which route handles a URL, and why.

The URL (and ``-H`` headers) become a WSGI environ the way a server builds
one (``build_environ``); the reference matcher (``dispatchc.plan.matcher``, which
tests prove equal to the generated module) decides it; ``explain_environ``
collects every step of that decision into an ``Explanation``, and ``render``
prints it as aligned plain text. Route names and the order routes are listed
in come from the plan (``dispatchc.plan``), as the generated module's do. No
target module is imported: factories are not called, ``--none ROUTE`` says
which of them to suppose return None. ``run`` is the command.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..diagnostics import printable_lines
from ..errors import UsageError
from ..front.patterns import PatternError, collapse_slashes, parse_host, path_value, root_relative
from ..ir import RedirectTarget, Route, status_line, target_text
from ..plan import BlockPlan, Plan, RoutePlan
from ..plan.matcher import (
    BlockChoice,
    Host,
    check_host,
    choose_block,
    dispatch,
    request_host,
    updated_routing_args,
)
from .text import target_column

# -- the request ---------------------------------------------------------------

#: Printable ASCII except space: what a URL keeps as it is; anything else is
#: percent-encoded as UTF-8, as a browser or curl sends it.
_URL_KEEP = "".join(c for c in string.printable if c not in string.whitespace)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _wire(text: str) -> str:
    """What a server puts in the environ for text sent as UTF-8: the bytes as latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _url_host(host: str) -> str:
    """The host a client sends for a URL's host: IDNA for Unicode labels
    (as browsers and curl do), else as written."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return _wire(host)  # sent raw: the server sees non-ASCII and answers 400


def _split_host_port(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        close = netloc.find("]")
        if close >= 0 and netloc[close + 1 : close + 2] == ":":
            return netloc[: close + 1], netloc[close + 2 :]
        return netloc, None
    if ":" in netloc:
        host, _, port = netloc.rpartition(":")
        return host, port
    return netloc, None


def build_environ(url: str, headers: Sequence[str] = ()) -> dict[str, Any]:
    """The WSGI environ a server would build for ``GET url`` with ``headers``.

    PATH_INFO is the percent-decoded path as latin-1 (non-ASCII characters
    typed in the URL are sent as UTF-8 first), QUERY_STRING the raw query,
    HTTP_HOST the URL's host and port as written (IDNA for Unicode labels)
    unless a ``Host`` header is given, SERVER_NAME/SERVER_PORT from the URL.
    The path is sent as written: no ``..`` resolution (``curl --path-as-is``).
    Raises UsageError for a URL that is not http(s) with a host, or a
    header that is not ``Name: value``.
    """
    if any(c in url for c in "\r\n\t\0"):
        raise UsageError(f"URL {url!r} contains a control character")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Bytes that are not UTF-8 reach argv as surrogates (PEP 383).
        raw = url.encode("utf-8", "surrogateescape")
        byte = raw[len(url[: exc.start].encode("utf-8", "surrogateescape"))]
        raise UsageError(
            f"URL {repr(raw)[1:]} is not valid UTF-8 (byte 0x{byte:02x}); "
            f"write such a byte percent-encoded (%{byte:02X})"
        ) from None
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise UsageError(f"cannot parse URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url.strip().lower().startswith(scheme + "://"):
        raise UsageError(f"URL {url!r} is not http://HOST/PATH or https://HOST/PATH")
    netloc = parts.netloc.rpartition("@")[2]  # user:password@ is never sent in Host
    name, port = _split_host_port(netloc)
    if not name:
        raise UsageError(f"URL {url!r} has no host")
    name = _url_host(name)
    http_host = name if port is None else f"{name}:{port}"
    default_port = "443" if scheme == "https" else "80"
    path = quote(parts.path or "/", safe=_URL_KEEP)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": quote(parts.query, safe=_URL_KEEP),
        "SERVER_NAME": name[1:-1] if name.startswith("[") and name.endswith("]") else name,
        "SERVER_PORT": port if port and port.isascii() and port.isdigit() else default_port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": http_host,
        "wsgi.url_scheme": scheme,
    }
    seen: set[str] = set()
    for header in headers:
        key, value = parse_header(header)
        if key in seen and key != "HTTP_HOST":
            environ[key] = f"{environ[key]},{value}"  # repeated headers, joined (PEP 3333)
        else:
            environ[key] = value
        seen.add(key)
    return environ


def parse_header(header: str) -> tuple[str, str]:
    """``'Name: value'`` -> (environ key, value as the server sees it)."""
    name, colon, value = header.partition(":")
    if not colon:
        raise UsageError(f"header {header!r} is not 'Name: value'")
    if not _TOKEN.fullmatch(name):
        raise UsageError(f"header {header!r} has an invalid name {name!r}")
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"header {header!r} contains a line break")
    key = name.upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = "HTTP_" + key
    return key, _wire(value.strip(" \t"))


# -- the explanation -------------------------------------------------------------

#: Roles of a matching route in an explanation.
HANDLES = "handles"
RETURNS_NONE = "returns-none"  # a factory supposed (--none) to return None
FALLBACK = "fallback"  # takes over if every factory before it returns None
UNREACHED = "unreached"  # an earlier route always answers


@dataclass(frozen=True)
class Step:
    """A route whose pattern matches the path, in precedence order."""

    rank: int  # 1-based, among the routes that match
    route: RoutePlan
    name: str  # what environ["dispatchc.route"] would be
    role: str  # HANDLES | RETURNS_NONE | FALLBACK | UNREACHED
    captures: dict[str, str]  # host and path
    script_name: str
    path_info: str
    args: tuple[Any, ...] | None = None  # a factory's arguments

    @property
    def call(self) -> str | None:
        """``module.factory('arg', ...)`` for a factory route."""
        if not self.route.is_factory:
            return None
        assert self.args is not None
        target = self.route.target
        call = ", ".join(repr(a) for a in self.args)
        return f"{target.module}.{target.attr}({call})"  # type: ignore[union-attr]


@dataclass(frozen=True)
class Explanation:
    """Everything ``explain`` found out about one request."""

    environ: Mapping[str, Any]
    url: str | None
    has_hosts: bool
    host_text: str  # the host as received (HTTP_HOST, or SERVER_NAME:SERVER_PORT)
    host_from: str  # "URL", "Host header", "HTTP_HOST", "SERVER_NAME"
    host: Host | None  # normalised; None when invalid (400) or not looked at
    host_error: str | None
    choice: BlockChoice | None  # None for 400
    block: BlockPlan | None  # the chosen block's plan; None for 400 or no block
    steps: tuple[Step, ...]
    status: int | None  # dispatchc's own 400 / 404; None when a route handles it
    reason: str  # why the status (empty when handled)
    handler: Step | None
    assumed_none: tuple[str, ...] = ()  # --none routes, by name
    notes: tuple[str, ...] = ()
    location: str | None = None  # a redirect's Location header
    routing_args: Any = field(default=None)

    @property
    def route_name(self) -> str | None:
        return self.handler.name if self.handler else None

    @property
    def script_name(self) -> str:
        return self.handler.script_name if self.handler else self.environ.get("SCRIPT_NAME", "")

    @property
    def path_info(self) -> str:
        return self.handler.path_info if self.handler else self.environ.get("PATH_INFO", "")

    @property
    def calls(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The factory calls the request makes, in order: (attr, args)."""
        return [
            (s.route.target.attr, s.args)  # type: ignore[union-attr]
            for s in self.steps
            if s.role in (RETURNS_NONE, HANDLES) and s.args is not None
        ]


def _factory_route_names(plan: Plan) -> list[str]:
    """Every name a ``--none`` route may be given (factory routes only)."""
    return [
        block.route_name(route, i)
        for block in plan.blocks
        for i in range(len(block.prefixes))
        for route in block.routes
        if route.is_factory
    ]


def _pattern_index(block: BlockPlan, choice: BlockChoice | None) -> int:
    """Which of the block's names its routes have for this request: the
    pattern that matched when it is the chosen block, else its first."""
    if choice is None or choice.pattern is None or block.block is not choice.block:
        return 0
    return block.patterns.index(choice.pattern)


def resolve_none(
    plan: Plan, choice: BlockChoice | None, specs: Iterable[str]
) -> list[tuple[str, BlockPlan, RoutePlan]]:
    """``--none`` specs -> (spec, block, route). A spec is a path pattern as
    written (``/{prefix}``) in the chosen block, or ``"HOST PATH"`` as in
    ``environ["dispatchc.route"]`` (any pattern of the block, or ``default``)."""
    out = []
    for spec in specs:
        text = spec.strip()
        block: BlockPlan | None
        if text.startswith("/"):
            if choice is None or choice.block is None:
                raise UsageError(
                    f"--none {spec!r}: no host block is chosen for this request; name the "
                    f"route as 'HOST PATH': {_listing(_factory_route_names(plan))}"
                )
            block = plan.block_of(choice.block)
            path = text
            candidates = [r.path.text for r in block.routes if r.is_factory]
        else:
            host, _, path = text.partition(" ")
            path = path.strip()
            block = _block_named(plan, host)
            candidates = _factory_route_names(plan)
        route = None
        if block is not None:
            route = next((r for r in block.routes if r.path.text == path), None)
        if block is None or route is None:
            raise UsageError(
                f"--none {spec!r}: no such route; factory routes: {_listing(candidates)}"
            )
        if not route.is_factory:
            kind = "an application" if route.target.imports else "a built-in response"
            raise UsageError(
                f"--none {spec!r}: the route's target {target_text(route.target)} is {kind}, "
                "not a factory; only a factory can return None"
            )
        out.append((spec, block, route))
    return out


def _listing(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "(none)"


def _block_named(plan: Plan, host: str) -> BlockPlan | None:
    if host == "default":
        return plan.default
    try:
        text = parse_host(host).text
    except PatternError:
        text = host.lower()
    return next((rule.block for rule in plan.hosts if rule.pattern.text == text), None)


def explain_url(
    plan: Plan, url: str, headers: Sequence[str] = (), none: Sequence[str] = ()
) -> Explanation:
    """Explain ``GET url`` (with ``headers``); see ``explain_environ``."""
    environ = build_environ(url, headers)
    host_from = "Host header" if any(_is_host(h) for h in headers) else "URL"
    return explain_environ(plan, environ, none, url=url, host_from=host_from)


def _is_host(header: str) -> bool:
    return header.partition(":")[0].strip().lower() == "host"


def explain_environ(
    plan: Plan,
    environ: Mapping[str, Any],
    none: Sequence[str] = (),
    *,
    url: str | None = None,
    host_from: str | None = None,
) -> Explanation:
    """Decide a request with the reference matcher and record why.

    ``none`` names factory routes (``--none`` specs) supposed to return None;
    every other factory is supposed to return an app. Raises UsageError for
    a spec that names no factory route.
    """
    table = plan.table
    raw_host = environ.get("HTTP_HOST")
    if raw_host:
        host_text, source = raw_host, host_from or "HTTP_HOST"
    else:
        host_text = f"{environ.get('SERVER_NAME') or ''}:{environ.get('SERVER_PORT') or ''}"
        source = "SERVER_NAME"
    choice = choose_block(table, environ)
    resolved = resolve_none(plan, choice, none)
    none_routes = [route.route for _, _, route in resolved]
    notes = []
    for spec, block, _ in resolved:
        if choice is None or block.block is not choice.block:
            notes.append(f"--none {spec!r} names a route of another block: it plays no part")

    def returns_app(route: Route, args: tuple[Any, ...]) -> bool:
        return not any(route is r for r in none_routes)

    outcome = dispatch(table, environ, returns_app)
    host = request_host(environ) if table.has_hosts else None
    base = {
        "environ": dict(environ),
        "url": url,
        "has_hosts": table.has_hosts,
        "host_text": host_text,
        "host_from": source,
        "host": host,
        "assumed_none": tuple(b.route_name(r, _pattern_index(b, choice)) for _, b, r in resolved),
    }
    if outcome.status == 400:
        error = check_host(environ)
        assert isinstance(error, str)
        return Explanation(
            **base,
            host_error=error,
            choice=None,
            block=None,
            steps=(),
            status=400,
            reason=f"the host {_as_typed(host_text)!r} is invalid: {error}",
            handler=None,
            notes=tuple(notes),
        )
    assert outcome.choice is not None
    choice = outcome.choice
    chosen = plan.block_of(choice.block) if choice.block is not None else None
    matching = [
        *outcome.tried,
        *([outcome.candidate] if outcome.candidate else []),
        *outcome.remaining,
    ]
    steps = []
    chain_open = True  # every route so far was a factory supposed to return None
    handler = None
    for rank, cand in enumerate(matching, 1):
        assert chosen is not None
        route = chosen.route_of(cand.route)
        if any(cand is t for t in outcome.tried):
            role = RETURNS_NONE
        elif cand is outcome.candidate:
            role = HANDLES
        elif chain_open:
            role = FALLBACK
        else:
            role = UNREACHED
        if role in (HANDLES, FALLBACK):
            chain_open = route.is_factory
        step = Step(
            rank,
            route,
            chosen.route_name(route, _pattern_index(chosen, choice)),
            role,
            dict(cand.captures),
            cand.script_name,
            cand.path_info,
            cand.args() if route.is_factory else None,
        )
        if role == HANDLES:
            handler = step
        steps.append(step)
    for spec, _, route in resolved:
        if any(route.route is c.route for c in matching):
            continue
        if chosen is not None and route in chosen.routes:
            notes.append(f"--none {spec!r} does not match this path: it plays no part")
    status, reason = None, ""
    if outcome.status == 404:
        status = 404
        reason = _why_404(table.has_hosts, choice, chosen, environ, bool(matching))
    location = None
    routing_args = None
    if handler is not None:
        target = handler.route.target
        if isinstance(target, RedirectTarget):
            location = redirect_location(target, handler, environ.get("QUERY_STRING", ""))
        if handler.captures:
            before = environ.get("wsgiorg.routing_args")
            routing_args = updated_routing_args(before, handler.captures)
        else:
            routing_args = environ.get("wsgiorg.routing_args")
    return Explanation(
        **base,
        host_error=None,
        choice=choice,
        block=chosen,
        steps=tuple(steps),
        status=status,
        reason=reason,
        handler=handler,
        notes=tuple(notes),
        location=location,
        routing_args=routing_args,
    )


def _why_404(
    has_hosts: bool,
    choice: BlockChoice,
    block: BlockPlan | None,
    environ: Mapping[str, Any],
    matched: bool,
) -> str:
    if block is None:
        if not has_hosts:
            return "the file has no routes"
        return "no host pattern matches and there is no default block"
    if matched:
        return "every matching route is a factory that returns None (--none)"
    where = "the default block" if block.is_default else f"host {choice.prefix}"
    return (
        f"no route of {where} matches PATH_INFO {environ.get('PATH_INFO', '')!r} "
        "(no other block is consulted)"
    )


_PATH_SAFE = "-._~!$'()*,:@"
_QUERY_SAFE = "-._~!$&'()*+,;=:@/?%"


def redirect_location(target: RedirectTarget, step: Step, query: str) -> str:
    """The Location a redirect route sends (as the generated module builds
    it): a root-relative URL never starts with '//' (SPEC §1)."""
    pieces = []
    for part in target.parts:
        if part.kind == "text":
            pieces.append(part.value)
        elif part.kind == "path":
            path = path_value(step.path_info)
            pieces.append(quote(path, safe=_PATH_SAFE + "/", encoding="latin-1"))
        else:
            pieces.append(quote(step.captures[part.value], safe=_PATH_SAFE, encoding="latin-1"))
    location = "".join(pieces)
    if root_relative(target.parts):
        location = collapse_slashes(location)
    if query:
        base, hash_mark, fragment = location.partition("#")
        query = quote(query, safe=_QUERY_SAFE, encoding="latin-1", errors="replace")
        location = base + ("&" if "?" in base else "?") + query + hash_mark + fragment
    return location


# -- text ------------------------------------------------------------------------

_LABEL = 10


def _as_typed(text: str) -> str:
    """Environ text (bytes as latin-1) as the UTF-8 text it was, when it was."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _idna_hint(host: str) -> str | None:
    name, port = _split_host_port(host)
    if name.isascii():
        return None
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return ascii_name + (f":{port}" if port is not None else "")


def _captures(captures: Mapping[str, str]) -> str:
    return "  ".join(f"{k}={v!r}" for k, v in captures.items()) if captures else "none"


def _block_line(exp: Explanation) -> str:
    choice = exp.choice
    assert choice is not None
    if not exp.has_hosts:
        if choice.block is None:
            return "none (the file has no routes)"
        return "default  (the only block: the file has no host block)"
    block = exp.block
    if block is None:
        return "none  (no host pattern matches, and there is no default block)"
    if choice.pattern is None:
        return f"default  (no host pattern matches){_line(block)}"
    pattern = choice.pattern
    port = f" on port {pattern.port}" if pattern.port is not None else ""
    several = len(block.patterns) > 1
    if pattern.kind == "exact":
        why = f"exact match{port}" + (f": {pattern.text}" if several else "")
    elif pattern.kind == "capture":
        why = f"pattern {pattern.text}{port}" if several else f"pattern{port}"
        why += f"; no exact host matches; captures {_captures(choice.captures)}"
    else:
        why = f"wildcard {pattern.text}{port}" if several else f"wildcard{port}"
        why += f": one or more labels before {pattern.host}; no exact host or capture matches"
    return f"{block.label}  ({why}){_line(block)}"


def _line(block: BlockPlan) -> str:
    line = block.block.span.line
    return f", line {line}" if line > 0 else ""


def _role_text(step: Step, previous: Step | None, steps: Sequence[Step]) -> str:
    if step.role == HANDLES:
        return "handles it"
    if step.role == RETURNS_NONE:
        return f"{step.call} returns None (--none): falls through"
    if step.role == FALLBACK:
        assert previous is not None and previous.call is not None
        return f"takes over if {previous.call} returns None"
    answering = next(
        s for s in steps if s.role in (HANDLES, FALLBACK) and s.args is None and s.rank < step.rank
    )
    return f"not reached: {answering.route.path.text} always answers first"


def _routes_lines(exp: Explanation) -> list[str]:
    steps = exp.steps
    if not steps:
        block = exp.block
        if block is None:
            return []
        routes = [r.path for r in block.routes]
        if not routes:
            return ["none match (the block has no routes)"]
        listed = ", ".join(path.text for path in routes)
        return [f"none match PATH_INFO {exp.path_info!r} (the block has: {listed})"]
    path_w = max(len(s.route.path.text) for s in steps)
    target_w = max(len(target_column(s.route.route)) for s in steps)
    out = []
    previous: Step | None = None
    for step in steps:
        role = _role_text(step, previous, steps)
        text = f"{step.rank}. {step.route.path.text.ljust(path_w)} -> "
        text += f"{target_column(step.route.route).ljust(target_w)}  {role}"
        out.append(text.rstrip())
        if step.role in (HANDLES, FALLBACK, RETURNS_NONE):
            previous = step
    last = steps[-1]
    if last.role in (HANDLES, FALLBACK) and last.call is not None:
        out.append(f"   then 404 Not Found if {last.call} returns None")
    return out


def _target_lines(exp: Explanation) -> list[tuple[str, str]]:
    step = exp.handler
    assert step is not None
    target = step.route.target
    if step.route.is_factory:
        if target.cache == 0:
            cache = "called on every request: cache 0"
        else:
            cache = f"cached per argument tuple, cache {target.cache}"
        lazy = "; module imported on first use (lazy)" if target.lazy else ""
        return [("Calls", f"{step.call}, then the app it returns  ({cache}{lazy})")]
    if target.imports:
        lazy = "  (module imported on first use: lazy)" if target.lazy else ""
        return [("Calls", f"{target.module}.{target.attr}(environ, start_response){lazy}")]
    phrase = status_line(target.code)  # type: ignore[union-attr]
    if exp.location is None:  # a status target
        return [("Responds", f"{phrase}  (built-in plain-text response)")]
    return [("Responds", f"{phrase}  Location: {exp.location}")]


def render(exp: Explanation) -> str:
    """The explanation as aligned plain text (control characters escaped)."""
    rows: list[tuple[str, str]] = []
    env = exp.environ
    if exp.url is not None:
        rows.append(("URL", exp.url))
    path_info = env.get("PATH_INFO", "")
    request = [f"PATH_INFO={path_info!r}"]
    if _as_typed(path_info) != path_info:
        request[0] += f" (UTF-8 bytes as latin-1: {_as_typed(path_info)!r})"
    if env.get("SCRIPT_NAME"):
        request.insert(0, f"SCRIPT_NAME={env['SCRIPT_NAME']!r}")
    if env.get("QUERY_STRING"):
        request.append(f"QUERY_STRING={env['QUERY_STRING']!r}")
    rows.append(("Request", "  ".join(request)))
    if not exp.has_hosts:
        rows.append(("Host", "not looked at (the file has no host block)"))
    elif exp.host is None:
        shown = _as_typed(exp.host_text)
        where = "SERVER_NAME:SERVER_PORT" if exp.host_from == "SERVER_NAME" else exp.host_from
        line = f"{shown!r} from the {where}: {exp.host_error}"
        hint = _idna_hint(shown)
        if hint:
            line += f" (clients send the IDNA form {hint!r})"
        rows.append(("Host", line))
    else:
        scheme = env.get("wsgi.url_scheme", "http")
        given = exp.host_text.lower() not in (exp.host.name, f"{exp.host.name}:{exp.host.port}")
        port_note = ""
        if exp.host_from != "SERVER_NAME" and ":" not in exp.host_text.rpartition("]")[2]:
            port_note = f", the {scheme} default"
        line = f"{exp.host.name}, port {exp.host.port}{port_note}"
        if exp.host_from == "SERVER_NAME":
            line += "  (from SERVER_NAME and SERVER_PORT: no Host header)"
        else:
            line += f"  (from the {exp.host_from}"
            line += f" {exp.host_text!r})" if given else ")"
        rows.append(("Host", line))
    for note in exp.notes:
        rows.append(("Note", note))
    if exp.status == 400:
        rows.append(("Block", "none: an invalid host reaches no block, no route and no factory"))
        rows.append(("Result", f"400 Bad Request: {exp.reason}"))
        rows.append(("Route", "dispatchc.route is not set"))
        return _table(rows)
    rows.append(("Block", _block_line(exp)))
    routes = _routes_lines(exp)
    for i, text in enumerate(routes):
        rows.append(("Routes" if i == 0 else "", text))
    if exp.handler is None:
        rows.append(("Result", f"404 Not Found: {exp.reason}"))
        rows.append(("Route", "dispatchc.route is not set"))
        return _table(rows)
    step = exp.handler
    rows.append(("Captures", _captures(step.captures)))
    rows += _target_lines(exp)
    rows.append(("Result", f"SCRIPT_NAME={step.script_name!r}  PATH_INFO={step.path_info!r}"))
    rows.append(("Route", f"dispatchc.route = {step.name!r}"))
    return _table(rows)


def _table(rows: list[tuple[str, str]]) -> str:
    """The rows, aligned; text from the routing file or the URL that a
    terminal would act on shown as U+FFFD, as in the diagnostics."""
    text = "\n".join(f"{label:<{_LABEL}}{text}".rstrip() for label, text in rows) + "\n"
    return printable_lines(text)


# -- the command -------------------------------------------------------------------


def run(plan: Plan, url: str, headers: Sequence[str] = (), none: Sequence[str] = ()) -> str:
    """``dispatchc explain FILE URL [-H 'Name: value']... [--none ROUTE]...``:
    the text it prints. Raises UsageError for a bad URL, header or route."""
    return render(explain_url(plan, url, headers, none))
