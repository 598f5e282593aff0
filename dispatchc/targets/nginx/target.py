"""The nginx target: plan + upstreams file -> a configuration for ``http { }``.

What the edge does, per request (SPEC §10):

- the Host check of SPEC §2 (``$dc_bad_host``, in every server: 400);
- the host block, by SPEC precedence: exact names as ``server_name`` (nginx
  tries them first, as SPEC does), every other pattern as a regular
  expression in SPEC order (nginx tries those in the order they appear, and
  would rank its own ``*.x`` names above all of them, so none is used);
- the path: each state of the block's automaton (``plan.automaton``) whose
  *hops* (``plan.upstreams.hops``) differ from its parent's becomes a
  location: prefix locations (``= /a`` and ``^~ /a/``, segment-bounded) in
  a block of literal routes, regular expressions deepest first in one with
  captures; a block whose paths all go the same way is one ``location /``;
- a hop to an upstream forwards the normalised URI (``rewrite ^ $uri
  break``: nginx escapes it again), the Host header as received and
  ``X-Forwarded-Proto``; a 421 from that upstream hands the request to the
  next upstream of the chain (``error_page 421`` to a named location,
  ``recursive_error_pages``); ``status`` and ``redirect`` are answered here.

Every string from the routing file or the upstreams file is written by
``quoting.quote``; what nginx cannot do as SPEC says is a diagnostic of
``check`` (N1xx), never a silent difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._version import __version__
from ...diagnostics import Diagnostic, printable
from ...front.patterns import may_start_with_two_slashes
from ...ir import HostPattern, RedirectTarget, Segment, StatusTarget, status_line
from ...plan import BlockPlan, HostRule, Plan, State
from ...plan.names import identifier, unique
from ...plan.upstreams import Hop, hops
from ..base import HEADER, Job
from .quoting import (
    DOLLAR_DEFINITION,
    NEWLINE,
    Unquotable,
    Var,
    check,
    quote,
    regex_literal,
    uses_dollar,
)
from .upstreams import Input, Listen, Resolved, Upstreams, given, relative_name, resolve_once

#: Status codes that nginx keeps for itself: 444 closes the connection
#: without a response; 494-499 are its own codes for failed requests.
NGINX_CODES = frozenset({444, 494, 495, 496, 497, 498, 499})
#: Codes for which ``return CODE "text"`` takes the text as a Location.
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
#: A code that only sends a ``status 3xx`` route to its named location.
_TRAMPOLINE = 418
_INDENT = "    "


def path_text(literal: str) -> str:
    """A literal segment as text: patterns hold PATH_INFO's latin-1 form of
    their UTF-8 bytes, and nginx matches those bytes."""
    return literal.encode("latin-1").decode("utf-8")


def upstream_name(name: str) -> str:
    return f"dc_{name}"


# -- build-time checks ---------------------------------------------------------------


def _nginx_checks(plan: Plan, listen: tuple[Listen, ...]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    ports = {item.port for item in listen}
    for rule in plan.hosts:
        pattern = rule.pattern
        if pattern.port is None or rule.index != rule.block.patterns.index(pattern):
            continue
        if pattern.port not in ports:
            found.append(
                Diagnostic(
                    "N103",
                    f"nginx does not listen on port {pattern.port}, so {pattern.text} "
                    "matches no request at the edge",
                    pattern.span,
                    help=f'add "{pattern.port}" to listen in [edge] of the upstreams file',
                )
            )
        else:
            found.append(
                Diagnostic(
                    "N104",
                    f"nginx matches {pattern.text} by the port it received the request on, "
                    "not by the port in the Host header",
                    pattern.span,
                    help="behind a load balancer that changes ports, write the pattern for "
                    "the port nginx listens on",
                )
            )
    for block in plan.blocks:
        for route in block.routes:
            target = route.target
            for seg in route.path.segments:
                if seg.literal is None:
                    continue
                try:
                    check(path_text(seg.literal))
                except Unquotable as exc:
                    found.append(_unquotable(exc, route.path.span, "path"))
                    break
            if isinstance(target, StatusTarget) and target.code in NGINX_CODES:
                found.append(
                    Diagnostic(
                        "N105",
                        f"status {target.code} is nginx's own code: "
                        + (
                            "it closes the connection without a response"
                            if target.code == 444
                            else "nginx uses it for requests it could not read"
                        ),
                        target.span,
                        help="choose another status code",
                    )
                )
            if isinstance(target, RedirectTarget):
                found += _redirect_checks(target)
    return _once(found)


def _unquotable(exc: Unquotable, span: Any, what: str) -> Diagnostic:
    return Diagnostic(
        "N106",
        f"the {what} holds {exc.char!r}, which nginx cannot carry in its configuration",
        span,
        help="write it percent-encoded, or leave it out",
    )


def _redirect_checks(target: RedirectTarget) -> list[Diagnostic]:
    found = []
    for part in target.parts:
        if part.kind == "text":
            try:
                check(part.value)
            except Unquotable as exc:
                found.append(_unquotable(exc, target.url_span, "redirect URL"))
                break
    substitutions = [p for p in target.parts if p.kind != "text"]
    if not substitutions:
        return found
    if len(substitutions) > 9:
        found.append(
            Diagnostic(
                "N109",
                "nginx substitutes at most 9 captures in a redirect",
                target.url_span,
                help="use fewer {capture} and {path}",
            )
        )
    elif target.code not in (301, 302):
        found.append(
            Diagnostic(
                "N107",
                f"nginx answers 400 instead of this redirect {target.code} when the text it "
                "substitutes holds a control character (%00-%1F, %7F)",
                target.url_span,
                help="only nginx's 301 and 302 redirects escape what they substitute: use one "
                "of those to redirect such requests too",
            )
        )
    else:
        found.append(
            Diagnostic(
                "N108",
                "nginx escapes the substituted text of this redirect less than dispatchc: "
                "'?', '&', '=' and '\\' stay as they are in Location",
                target.url_span,
                help="the Location means the same once percent-decoded; see docs/deploy.md",
            )
        )
    return found


def _once(found: list[Diagnostic]) -> list[Diagnostic]:
    """A `use` target is checked once per route that names it: report it once."""
    seen = set()
    out = []
    for d in found:
        key = (d.code, d.span.line, d.span.column)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


# -- the configuration ------------------------------------------------------------------


@dataclass
class _Out:
    lines: list[str]

    def add(self, depth: int = 0, text: str = "") -> None:
        self.lines.append(_INDENT * depth + text if text else "")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# Written without backslashes (classes such as [.] instead), which
# gixy-ng's regex parser misreads inside quotes; "$" is the end, since a
# header value holds no line feed.
_BAD_HOST = (
    # SPEC §2, with nginx's lower-casing: labels of a-z 0-9 - _ (no empty
    # one), one trailing dot allowed, at most 253 characters without it; a
    # port of at most 5 digits, 1-65535.
    r"(?=[a-z0-9_.-]{1,253}[.]?(?::|$))(?:[a-z0-9_-]+[.])*[a-z0-9_-]+[.]?",
    # An IPv6 literal as Python's ipaddress reads it (no zone, dotted IPv4
    # last, at most one "::").
    r"[[](?:"
    r"(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
    r"|(?:[0-9a-f]{1,4}:){6}IPV4"
    r"|(?=(?:[0-9a-f]{0,4}:){0,7}[0-9a-f]{0,4}[]])"
    r"(?:(?:[0-9a-f]{1,4}:){0,7}[0-9a-f]{1,4})?::(?:(?:[0-9a-f]{1,4}:){0,7}[0-9a-f]{1,4})?"
    r"|(?=(?:[0-9a-f]{0,4}:){0,6}(?:[0-9]{1,3}[.]){3}[0-9]{1,3}[]])"
    r"(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::(?:(?:[0-9a-f]{1,4}:){0,5}IPV4|IPV4)"
    r")[]]",
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}[.]{_OCTET}[.]{_OCTET}[.]{_OCTET}"
_PORT = (
    r"(?::(?!0+$)"
    r"(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
)


def host_regex() -> str:
    """The Hosts SPEC §2 accepts, lower-cased (nginx matches the map with ``~*``)."""
    names = "|".join(f"(?:{alt.replace('IPV4', _IPV4)})" for alt in _BAD_HOST)
    return rf"^(?:{names}){_PORT}$"


def _host_regex(pattern: HostPattern, names: dict[str, str]) -> str:
    suffix = r"\.".join(regex_literal(label) for label in pattern.suffix)
    if pattern.kind == "wildcard":
        head = r".+\."
    else:
        head = "".join(rf"(?<{names[c]}>[^.]+)\." for c in pattern.captures)
    return rf"~^{head}{suffix}\z"


@dataclass
class _Block:
    """One host block's locations, written once for all its servers."""

    lines: list[str]
    named: set[tuple[str, ...]]  # fallback sequences of upstreams it hands requests to
    statuses: set[int]  # ``status 3xx`` codes it answers through a named location


class _Writer:
    def __init__(self, job: Job, resolved: Resolved):
        self.job = job
        self.plan = job.plan
        assert resolved.upstreams is not None
        self.upstreams: Upstreams = resolved.upstreams
        self.owner = resolved.owner
        captures = sorted({c for r in self.plan.hosts for c in r.pattern.captures})
        self.capture_vars = unique((c, "dc_h_" + identifier(c)) for c in captures)
        self.ported = any(r.pattern.port is not None for r in self.plan.hosts)

    # -- paths --------------------------------------------------------------

    def _step_regex(self, block: BlockPlan, state: State) -> str:
        steps = []
        node: State | None = state
        while node is not None and node.parent is not None:
            parent = block.states[node.parent]
            if node.step is not None:
                steps.append("/" + regex_literal(path_text(node.step)))
            else:
                keys = [regex_literal(path_text(k)) for k, _ in parent.children]
                guard = f"(?!(?:{'|'.join(keys)})(?:/|\\z))" if keys else ""
                steps.append(f"/{guard}[^/]+")
            node = parent
        return "^" + "".join(reversed(steps)) + r"(?:/|\z)"

    def _prefix(self, block: BlockPlan, state: State) -> str:
        steps = []
        node: State | None = state
        while node is not None and node.parent is not None:
            assert node.step is not None
            steps.append(path_text(node.step))
            node = block.states[node.parent]
        return "/" + "/".join(reversed(steps))

    def block(self, block: BlockPlan) -> _Block:
        out = _Out([])
        named: set[tuple[str, ...]] = set()
        statuses: set[int] = set()
        actions = {s.index: hops(block, s, self.owner) for s in block.states}
        literal = not any(s.step is None and s.parent is not None for s in block.states)
        emitted: dict[int, tuple[Hop, ...]] = {}
        order: list[State] = []
        # Parents come after children: walk from the root down.
        for state in reversed(block.states):
            if state.parent is None:
                emitted[state.index] = actions[state.index]
                continue
            node = state.parent
            while node not in emitted:
                node = block.states[node].parent  # type: ignore[assignment]
            if actions[state.index] != emitted[node]:
                emitted[state.index] = actions[state.index]
                order.append(state)
            else:
                emitted[state.index] = emitted[node]

        def location(head: str, state: State) -> None:
            out.add(1, f"location {head} {{")
            self._action(out, block, state, actions[state.index], named, statuses)
            out.add(1, "}")

        if literal:
            for state in sorted(order, key=lambda s: self._prefix(block, s)):
                prefix = self._prefix(block, state)
                location("= " + quote(prefix), state)
                location("^~ " + quote(prefix + "/"), state)
        else:
            keyed = sorted(order, key=lambda s: (-s.depth, self._step_regex(block, s)))
            for state in keyed:
                location("~ " + quote(self._step_regex(block, state)), state)
        location("/", block.root)
        return _Block(out.lines, named, statuses)

    # -- what a location does -------------------------------------------------

    def _action(
        self,
        out: _Out,
        block: BlockPlan,
        state: State,
        chain: tuple[Hop, ...],
        named: set[tuple[str, ...]],
        statuses: set[int],
    ) -> None:
        kind, what = chain[0]
        if kind == "respond":
            if what is None:
                self._status(out, 404, statuses)
                return
            assert isinstance(what, int)
            route = block.routes[what]
            target = route.target
            out.add(2, f"# {printable(route.path.text)} -> {printable(route.route.target_text)}")
            if isinstance(target, StatusTarget):
                self._status(out, target.code, statuses)
            else:
                assert isinstance(target, RedirectTarget)
                self._redirect(out, block, route.path.segments, target)
            return
        assert isinstance(what, str)
        rest = _following(chain)
        self._proxy(out, 2, what, rest)
        if rest:
            named.update(rest[i:] for i in range(len(rest)))

    def _proxy(self, out: _Out, depth: int, upstream: str, rest: tuple[str, ...]) -> None:
        out.add(depth, "rewrite ^ $uri break;")
        out.add(depth, f"proxy_pass http://{upstream_name(upstream)};")
        if rest:
            out.add(depth, "proxy_intercept_errors on;")
            out.add(depth, f"error_page 421 = @{_named(rest)};")

    def _status(self, out: _Out, code: int, statuses: set[int]) -> None:
        if code in REDIRECT_CODES:
            statuses.add(code)
            out.add(2, f"error_page {_TRAMPOLINE} ={code} @dc_status_{code};")
            out.add(2, f"return {_TRAMPOLINE};")
        elif code in (204, 304):
            out.add(2, f"return {code};")
        else:
            out.add(2, f"return {code} {quote(status_line(code), NEWLINE, interpolated=True)};")

    def _redirect(
        self, out: _Out, block: BlockPlan, segments: tuple[Segment, ...], target: RedirectTarget
    ) -> None:
        """A redirect: ``return`` for a fixed URL; with substitutions, a 301
        or 302 is a ``rewrite`` (nginx escapes what it substitutes), any
        other code an ``if`` with ``return``, whose substituted text may
        hold no control character (N107). Root-relative URLs whose first
        character after "/" comes from the request get the variants of
        ``_relative_variants``. A request that no variant takes gets 400."""
        subs = [p for p in target.parts if p.kind != "text"]
        if not subs:
            url = quote(*_with_query([p.value for p in target.parts]), interpolated=True)
            out.add(2, f"return {target.code} {url};")
            return
        mode = "rewrite" if target.code in (301, 302) else "return"
        used = {p.value for p in subs if p.kind == "capture"}
        number: dict[str, int] = {}
        head = ["(?s)^"]
        for seg in segments:
            if seg.literal is not None:
                head.append("/" + regex_literal(path_text(seg.literal)))
            elif seg.capture in used:
                number[seg.capture] = len(number) + 1
                head.append(_SEGMENT[mode])
            else:
                head.append("/[^/]+")
        rest = Var(str(len(number) + 1))
        pieces: list[Any] = []
        for part in target.parts:
            if part.kind == "text":
                pieces.append(part.value)
            elif part.kind == "capture" and part.value in number:
                pieces.append(Var(str(number[part.value])))
            elif part.kind == "capture":
                pieces.append(Var(self.capture_vars[part.value]))
            else:
                pieces.append(rest)
        has_path = any(p.kind == "path" for p in target.parts)
        tail = f"((?:/{_ANY[mode]}*)?)\\z" if has_path else r"(?:/.*)?\z"
        variants = [(mode, "".join(head) + tail, pieces)]
        if may_start_with_two_slashes(target.parts):
            variants = _relative_variants(head, tail, pieces, rest, mode) or variants
        flag = "permanent" if target.code == 301 else "redirect"
        for how, regex, replacement in variants:
            if how == "return":
                url = quote(*_with_query(replacement), interpolated=True)
                out.add(2, f"if ($uri ~ {quote(regex)}) {{")
                out.add(3, f"return {target.code} {url};")
                out.add(2, "}")
            else:
                url = quote(*_with_query(replacement), "?", interpolated=True)
                out.add(2, f"rewrite {quote(regex)} {url} {flag};")
        if len(variants) > 1 or mode == "return":
            # What no variant takes: a control character where nginx would
            # write it into Location as it is (N107), or a backslash and a
            # line break after "/".
            out.add(2, f"return 400 {quote('400 Bad Request', NEWLINE, interpolated=True)};")

    # -- the whole file -------------------------------------------------------------

    def servers_for(
        self, view: int | None, listens: list[Listen], blocks: dict[str, _Block]
    ) -> list[str]:
        out = _Out([])
        plan = self.plan
        rules = [r for r in plan.hosts if r.pattern.port in (None, view)]
        shadowed = {
            (r.pattern.kind, len(r.pattern.captures), r.pattern.suffix)
            for r in rules
            if r.pattern.port is not None
        }
        rules = [
            r
            for r in rules
            if r.pattern.port is not None
            or (r.pattern.kind, len(r.pattern.captures), r.pattern.suffix) not in shadowed
        ]
        exact: dict[str, list[HostRule]] = {}
        for rule in rules:
            if rule.pattern.kind == "exact":
                exact.setdefault(rule.block.name, []).append(rule)
        chunks: list[tuple[BlockPlan, list[HostRule]]] = []
        for rule in rules:
            if rule.pattern.kind == "exact":
                continue
            if chunks and chunks[-1][0] is rule.block:
                chunks[-1][1].append(rule)
            else:
                chunks.append((rule.block, [rule]))
        placed: set[str] = set()
        servers: list[tuple[BlockPlan, list[HostRule]]] = []
        for block, regexes in chunks:
            names = regexes if block.name in placed else exact.get(block.name, []) + regexes
            placed.add(block.name)
            servers.append((block, names))
        for block in plan.host_blocks:
            if block.name in exact and block.name not in placed:
                servers.append((block, exact[block.name]))
                placed.add(block.name)
        # The default server: the default block, or 404 for every path.
        self._server(out, listens, None, plan.default, blocks, default=True)
        for block, names in servers:
            self._server(out, listens, names, block, blocks, default=False)
        return out.lines

    def _server(
        self,
        out: _Out,
        listens: list[Listen],
        names: list[HostRule] | None,
        block: BlockPlan | None,
        blocks: dict[str, _Block],
        default: bool,
    ) -> None:
        out.add()
        if block is None:
            out.add(0, "# -- any other host: 404 " + "-" * 54)
        else:
            label = "default" if block.is_default else block.label
            out.add(0, f"# -- {printable(label)} " + "-" * max(3, 73 - len(printable(label))))
        out.add(0, "server {")
        for item in listens:
            words = [quote(w) for w in (item.address, *(item.params if default else ()))]
            if default:
                words.insert(1, "default_server")
            out.add(1, f"listen {' '.join(words)};")
        if names is None:
            out.add(1, 'server_name "";')
        else:
            texts = [
                quote(r.pattern.host)
                if r.pattern.kind == "exact"
                else quote(_host_regex(r.pattern, self.capture_vars))
                for r in names
            ]
            out.add(1, f"server_name {' '.join(texts)};")
        out.add(1, "server_tokens off;")
        out.add(1, "absolute_redirect off;")
        out.add(1, "recursive_error_pages on;")
        out.add(1, 'default_type "text/plain; charset=utf-8";')
        host = "$host:$server_port" if self.ported else "$http_host"
        out.add(1, f"proxy_set_header Host {host};")
        out.add(1, "proxy_set_header X-Forwarded-Proto $scheme;")
        out.add(1, "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")
        out.add(1, 'proxy_set_header Forwarded "";')
        out.add(1, 'proxy_set_header X-Forwarded-Host "";')
        out.add(1, 'proxy_set_header X-Forwarded-Prefix "";')
        if self.plan.has_hosts:
            out.add(1, "if ($dc_bad_host) {")
            out.add(2, f"return 400 {quote('400 Bad Request', NEWLINE, interpolated=True)};")
            out.add(1, "}")
        if block is None:
            out.add(1, "location / {")
            self._status(out, 404, set())
            out.add(1, "}")
        else:
            written = blocks[block.name]
            out.lines.extend(written.lines)
            for sequence in sorted(written.named):
                out.add(1, f"location @{_named(sequence)} {{")
                self._proxy(out, 2, sequence[0], sequence[1:])
                out.add(1, "}")
            for code in sorted(written.statuses):
                out.add(1, f"location @dc_status_{code} {{")
                out.add(2, f"return 200 {quote(status_line(code), NEWLINE, interpolated=True)};")
                out.add(1, "}")
        out.add(0, "}")

    def generate(self) -> str:
        plan = self.plan
        job = self.job
        blocks = {b.name: self.block(b) for b in plan.blocks}
        ports = {r.pattern.port for r in plan.hosts if r.pattern.port is not None}
        views: dict[int | None, list[Listen]] = {}
        for item in self.upstreams.listen:
            views.setdefault(item.port if item.port in ports else None, []).append(item)
        body: list[str] = []
        for view, listens in views.items():
            body += self.servers_for(view, listens, blocks)
        used = [u for u in self.upstreams.upstreams if u.name in set(self.owner.values())]
        head = _Out([])
        upstreams = job.options["upstreams"]
        assert isinstance(upstreams, Input)
        head.add(
            0,
            f"# {HEADER} {__version__} for --target nginx. "
            "Do not edit: change the sources and rebuild.",
        )
        head.add(0, f"# Source sha256: {job.source.sha256}")
        head.add(0, f"# Source: {_comment_path(job.source_name)}")
        head.add(0, f"# Upstreams sha256: {self.upstreams.source.sha256}")
        head.add(0, f"# Upstreams: {_comment_path(relative_name(upstreams.path, job.output))}")
        head.add(0, "# An nginx configuration for the http { } context (include it there); its")
        head.add(0, "# backends serve the modules of: dispatchc build SOURCE --upstreams FILE")
        head.add(0, "# --upstream NAME. Reload nginx after a rebuild: nginx -t && nginx -s reload")
        head.add()
        head.add(0, "merge_slashes off;")
        names = [r.pattern.host for r in plan.hosts if r.pattern.kind == "exact"]
        bucket, size = _hash_sizes(names)
        head.add(0, f"server_names_hash_bucket_size {bucket};")
        head.add(0, f"server_names_hash_max_size {size};")
        text = "\n".join(body)
        if uses_dollar(text):
            head.lines += DOLLAR_DEFINITION.split("\n")
        if plan.has_hosts:
            head.add(0, "map $http_host $dc_bad_host {")
            head.add(1, "default 1;")
            head.add(1, '"" 0;')
            head.add(1, f"{quote('~*' + host_regex())} 0;")
            head.add(0, "}")
        if "${dc_amp_args}" in text:
            head.add(0, "map $args $dc_amp_args {")
            head.add(1, '"" "";')
            head.add(1, 'default "&$args";')
            head.add(0, "}")
        for upstream in used:
            head.add()
            head.add(0, f"upstream {upstream_name(upstream.name)} {{")
            for server in upstream.servers:
                address, *params = server.split()
                head.add(1, f"server {' '.join(quote(w) for w in (address, *params))};")
            head.add(0, "}")
        return head.text() + text + "\n"


def _following(chain: tuple[Hop, ...]) -> tuple[str, ...]:
    """The upstreams a request goes on to when the first answers 421: the
    proxy hops right after the first (a built-in response after an
    upstream is that upstream's to give)."""
    out = []
    for kind, what in chain[1:]:
        if kind != "proxy":
            break
        out.append(str(what))
    return tuple(out)


def _named(sequence: tuple[str, ...]) -> str:
    return "dc_next_" + "__".join(sequence)


def _with_query(pieces: list[Any]) -> list[Any]:
    """A redirect's URL with the request's query appended as SPEC §1 says:
    after "&" when it has a "?" already, before its fragment when it has one."""
    for i, piece in enumerate(pieces):
        if not isinstance(piece, Var) and "#" in piece:
            base, frag = piece.split("#", 1)
            before = [*pieces[:i], base]
            after = ["#" + frag, *pieces[i + 1 :]]
            break
    else:
        before, after = list(pieces), []
    has_query = any(not isinstance(p, Var) and "?" in p for p in before)
    args = [Var("dc_amp_args")] if has_query else [Var("is_args"), Var("args")]
    return [p for p in [*before, *args, *after] if p != ""]


#: A captured segment, and any text, as each way of redirecting may take it:
#: ``return`` writes it into Location as it is, so never a control character.
_CONTROL = r"\x00-\x1f\x7f"
_SEGMENT = {"rewrite": "/([^/]+)", "return": f"/([^/{_CONTROL}]+)"}
_ANY = {"rewrite": ".", "return": f"[^{_CONTROL}]"}


def _relative_variants(
    head: list[str], tail: str, pieces: list[Any], rest: Var, mode: str
) -> list[tuple[str, str, list[Any]]]:
    """A root-relative redirect whose first character after "/" comes from
    the request (SPEC §1): the leading run of slashes becomes one "/", and
    a backslash right after it, which nginx would leave as it is and a
    browser reads as "//", is written "%5C". ``rewrite`` cannot write that
    (nginx decodes "%5C" in its replacement), so that case is an ``if``
    with ``return``, whose substituted text may hold no control character.
    Each (how, regex, replacement) is tried in order."""
    first = next(i for i, p in enumerate(pieces) if isinstance(p, Var))
    lead, var, after = pieces[:first], pieces[first], pieces[first + 1 :]
    if not var.isdigit():
        return []  # a host capture: a-z 0-9 - _ only
    safe = [p.replace(_SEGMENT["rewrite"], _SEGMENT["return"]) for p in head]
    any_, safe_any = _ANY[mode], _ANY["return"]
    if var == rest:
        # {path} comes first: its leading slashes go, what follows is captured.
        prefix, safe_prefix = "".join(head), "".join(safe)
        return [
            ("return", safe_prefix + f"/+\\\\({safe_any}*)\\z", ["/", "%5C", var, *after]),
            (
                mode,
                prefix + f"/+((?:[^\\\\{_CONTROL if mode == 'return' else ''}]{any_}*)?)\\z",
                ["/", var, *after],
            ),
            (mode, prefix + r"()\z", [*lead, var, *after]),
        ]
    # A capture comes first (after "/"): one that starts with a backslash.
    n = int(var)
    groups = [i for i, p in enumerate(head) if p == _SEGMENT[mode]]
    safe[groups[n - 1]] = f"/\\\\([^/{_CONTROL}]*)"
    unsafe = list(head)
    control = _CONTROL if mode == "return" else ""
    unsafe[groups[n - 1]] = f"/([^/\\\\{control}][^/{control}]*)"
    safe_tail = tail.replace(".*", f"{safe_any}*")
    return [
        ("return", "".join(safe) + safe_tail, [*lead, "%5C", var, *after]),
        (mode, "".join(unsafe) + tail, pieces),
    ]


def _hash_sizes(names: list[str]) -> tuple[int, int]:
    """``server_names_hash_bucket_size`` and ``_max_size`` that fit the names:
    a bucket holds a pointer and each name (aligned), nginx's
    ``NGX_HASH_ELT_SIZE``; the table may take twice as many buckets as names."""
    longest = max((len(n) for n in names), default=0)
    need = 8 + ((longest + 2 + 7) // 8) * 8 + 8
    bucket = 64
    while bucket < need:
        bucket *= 2
    size = 512
    while size < 2 * len(names):
        size *= 2
    return bucket, size


def _comment_path(name: str) -> str:
    return name if name.isprintable() else ascii(name)


# -- the target ---------------------------------------------------------------------------


class NginxTarget:
    name = "nginx"
    summary = "an nginx configuration for http { } (with --upstreams: apps on several machines)"

    def default_output(self, source: Path, options: dict[str, Any]) -> Path:
        return source.with_suffix(".nginx.conf")

    def _resolve(self, job: Job) -> Resolved:
        return resolve_once(job.plan, job.source, given(job.options, "--target nginx"))

    def check(self, job: Job) -> list[Diagnostic]:
        resolved = self._resolve(job)
        found = list(resolved.diagnostics)
        if resolved.upstreams is not None:
            found += _nginx_checks(job.plan, resolved.upstreams.listen)
        return found

    def emit(self, job: Job) -> str:
        return _Writer(job, self._resolve(job)).generate()


TARGET = NginxTarget()
