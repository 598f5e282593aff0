"""The upstreams file (SPEC §10): where each application runs.

```toml
[edge]
listen = ["80"]                     # nginx listen arguments; default ["80"]

[upstream.web]
servers = ["10.0.0.11:8000", "10.0.0.12:8000"]
apps = ["frontend", "backend"]      # use names, or module:attr as written
```

It is read with ``tomllib``; every problem, a TOML syntax error included,
is a diagnostic at its line and column with a caret, as the routing
file's are. tomllib gives no positions for values, so ``_Locator`` finds
them in the text (table headers, keys, and the strings of arrays); where
it cannot (an inline table), the diagnostic points at the nearest thing it
found.
"""

from __future__ import annotations

import difflib
import functools
import keyword
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...diagnostics import Diagnostic
from ...errors import UsageError
from ...ir import AppTarget, FactoryTarget, RouteTable
from ...plan import Plan
from ...plan.upstreams import returning_chains
from ...source import Source, Span
from .quoting import Unquotable, check

DEFAULT_LISTEN = ("80",)


@dataclass(frozen=True)
class Listen:
    text: str  # as written: "80", "127.0.0.1:8080 ssl"
    address: str  # the first word
    port: int
    params: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class App:
    text: str  # as written: a use name or module:attr
    span: Span


@dataclass(frozen=True)
class Upstream:
    name: str
    servers: tuple[str, ...]
    apps: tuple[App, ...]
    span: Span  # its table header


@dataclass(frozen=True)
class Upstreams:
    source: Source
    listen: tuple[Listen, ...]
    upstreams: tuple[Upstream, ...]  # in file order

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.upstreams)

    def get(self, name: str) -> Upstream | None:
        return next((u for u in self.upstreams if u.name == name), None)


# -- positions ------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>[ \t]+)|(?P<nl>\r?\n)|(?P<comment>\#[^\n]*)"""
    r'''|(?P<mlstr>"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\')'''
    r"""|(?P<str>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
    r"""|(?P<punct>\[\[|\]\]|[\[\]{}=,.])|(?P<word>[A-Za-z0-9_+:\-]+)|(?P<other>.)""",
    re.S,
)


def _key_text(kind: str, text: str) -> str:
    if kind == "str":
        try:
            return str(tomllib.loads(f"x = {text}")["x"])
        except tomllib.TOMLDecodeError:
            return text[1:-1]
    return text


@dataclass
class _Locator:
    """Spans of table headers, keys and array strings, found in the text."""

    source: Source
    tables: dict[tuple[str, ...], Span] = field(default_factory=dict)
    keys: dict[tuple[str, ...], Span] = field(default_factory=dict)
    items: dict[tuple[str, ...], list[Span]] = field(default_factory=dict)

    @classmethod
    def scan(cls, source: Source) -> _Locator:
        found = cls(source)
        tokens = []
        line, col = 1, 1
        for m in _TOKEN.finditer(source.text):
            kind = m.lastgroup or "other"
            text = m.group()
            if kind not in ("ws", "comment"):
                tokens.append((kind, text, line, col))
            if "\n" in text:
                line += text.count("\n")
                col = len(text) - text.rindex("\n")
            else:
                col += len(text)
        table: tuple[str, ...] = ()
        i = 0
        at_line_start = True
        while i < len(tokens):
            kind, text, ln, cl = tokens[i]
            if kind == "nl":
                at_line_start = True
                i += 1
                continue
            if at_line_start and text in ("[", "[["):
                j = i + 1
                parts = []
                while j < len(tokens) and tokens[j][1] not in ("]", "]]") and tokens[j][0] != "nl":
                    if tokens[j][0] in ("word", "str"):
                        parts.append(_key_text(tokens[j][0], tokens[j][1]))
                    j += 1
                table = tuple(parts)
                end = tokens[j][3] + len(tokens[j][1]) if j < len(tokens) else cl + 1
                found.tables.setdefault(table, Span(ln, cl, ln, end))
                i = j + 1
                at_line_start = False
                continue
            if at_line_start and kind in ("word", "str"):
                j = i
                parts = []
                while j < len(tokens) and tokens[j][1] != "=" and tokens[j][0] != "nl":
                    if tokens[j][0] in ("word", "str"):
                        parts.append(_key_text(tokens[j][0], tokens[j][1]))
                    j += 1
                key = table + tuple(parts)
                found.keys.setdefault(key, Span(ln, cl, ln, cl + len(text)))
                i = j + 1
                at_line_start = False
                if i < len(tokens) and tokens[i][1] == "[":
                    depth = 0
                    spans: list[Span] = []
                    while i < len(tokens):
                        k, t, l2, c2 = tokens[i]
                        if t in ("[", "{"):
                            depth += 1
                        elif t in ("]", "}"):
                            depth -= 1
                            if depth == 0:
                                i += 1
                                break
                        elif depth == 1 and k in ("str", "mlstr", "word"):
                            spans.append(Span(l2, c2, l2, c2 + len(t.split("\n")[0])))
                        i += 1
                    found.items[key] = spans
                continue
            at_line_start = False
            i += 1
        return found

    def table(self, path: tuple[str, ...]) -> Span:
        while path:
            if path in self.tables:
                return self.tables[path]
            if path in self.keys:
                return self.keys[path]
            path = path[:-1]
        return Span.point(1, 1)

    def key(self, path: tuple[str, ...]) -> Span:
        return self.keys.get(path) or self.table(path[:-1])

    def item(self, path: tuple[str, ...], index: int) -> Span:
        spans = self.items.get(path, [])
        return spans[index] if index < len(spans) else self.key(path)


# -- reading --------------------------------------------------------------------

_LOCATION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PORT = r"(?P<port>[0-9]{1,5})"
_LISTEN_ADDRESS = re.compile(
    rf"(?:(?P<host>\*|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):)?{_PORT}|(?P<only>[A-Za-z0-9.-]*[A-Za-z.-][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])"
)
_SERVER_ADDRESS = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?|unix:/\S+")
_PARAM = re.compile(r"[a-z_0-9]+(?:=[A-Za-z0-9_.:]+)?")
_RESERVED_PARAMS = {"default_server", "default"}


class _Reader:
    def __init__(self, source: Source, locator: _Locator):
        self.source = source
        self.at = locator
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help, source=self.source))

    def strings(self, path: tuple[str, ...], value: Any, what: str) -> list[tuple[str, Span]]:
        """A list of non-empty strings, each with its span; errors otherwise."""
        if not isinstance(value, list):
            self.error(
                "N002",
                f"'{'.'.join(path)}' must be a list of strings ({what})",
                self.at.key(path),
                help=f'write {path[-1]} = ["..."]',
            )
            return []
        out = []
        for i, item in enumerate(value):
            span = self.at.item(path, i)
            if not isinstance(item, str) or not item.strip():
                self.error("N002", f"'{'.'.join(path)}' holds {_kind(item)}, not {what}", span)
                continue
            try:
                check(item)
            except Unquotable as exc:
                self.error(
                    "N002", f"'{'.'.join(path)}' holds {exc.char!r}, which nginx cannot carry", span
                )
                continue
            out.append((item, span))
        return out

    def listen(self, edge: dict[str, Any]) -> tuple[Listen, ...]:
        if "listen" not in edge:
            return tuple(Listen(t, t, 80, (), Span.point(1, 1)) for t in DEFAULT_LISTEN)
        out = []
        for text, span in self.strings(("edge", "listen"), edge["listen"], "listen arguments"):
            words = text.split()
            m = _LISTEN_ADDRESS.fullmatch(words[0])
            if m is None or words[0].startswith("unix:"):
                self.error(
                    "N002",
                    f"listen {text!r}: {words[0]!r} is not an address and port",
                    span,
                    help='write a port ("80") or an address and port '
                    '("127.0.0.1:8080"); unix sockets have no port for host patterns',
                )
                continue
            port = int(m.group("port")) if m.group("port") else 80
            if not 1 <= port <= 65535:
                self.error("N002", f"listen {text!r}: the port {port} is not 1-65535", span)
                continue
            bad = [w for w in words[1:] if not _PARAM.fullmatch(w) or w in _RESERVED_PARAMS]
            if bad:
                reserved = bad[0] in _RESERVED_PARAMS
                self.error(
                    "N002",
                    f"listen {text!r}: {bad[0]!r} is not a listen parameter dispatchc can pass on",
                    span,
                    help="dispatchc makes the default server itself"
                    if reserved
                    else "parameters are words such as ssl, http2, reuseport or backlog=511",
                )
                continue
            out.append(Listen(text, words[0], port, tuple(words[1:]), span))
        seen: dict[str, Listen] = {}
        for item in out:
            if item.address in seen:
                self.error(
                    "N002",
                    f"listen {item.address!r} is given twice",
                    item.span,
                    help=f"the first is at {seen[item.address].span.line}:"
                    f"{seen[item.address].span.column}",
                )
            seen.setdefault(item.address, item)
        return tuple(seen.values())

    def upstream(self, name: str, body: Any) -> Upstream | None:
        path = ("upstream", name)
        span = self.at.table(path)
        if not _IDENT.fullmatch(name) or keyword.iskeyword(name):
            self.error(
                "N002",
                f"upstream name {name!r} is not an identifier",
                span,
                help="upstream names are ASCII letters, digits and '_', not starting "
                "with a digit: they name nginx upstreams and routes_NAME.py",
            )
            return None
        if not isinstance(body, dict):
            self.error(
                "N002",
                f"'upstream.{name}' must be a table",
                span,
                help=f"write [upstream.{name}] with servers and apps",
            )
            return None
        for key in body:
            if key not in ("servers", "apps"):
                self.error(
                    "N002",
                    f"unknown key {key!r} in [upstream.{name}]",
                    self.at.key((*path, key)),
                    help="an upstream has servers and apps",
                )
        servers = []
        if "servers" not in body:
            self.error(
                "N002",
                f"[upstream.{name}] has no servers",
                span,
                help='add servers = ["HOST:PORT"]',
            )
        else:
            listed = self.strings((*path, "servers"), body["servers"], "server addresses")
            for text, item_span in listed:
                words = text.split()
                bad = None if _SERVER_ADDRESS.fullmatch(words[0]) else words[0]
                bad = bad or next((w for w in words[1:] if not _PARAM.fullmatch(w)), None)
                if bad is not None:
                    self.error(
                        "N002",
                        f"server {text!r}: {bad!r} is not an address or a "
                        "parameter of nginx's server directive",
                        item_span,
                        help='write "HOST:PORT", optionally followed by parameters '
                        "such as weight=2 or backup",
                    )
                    continue
                servers.append(text)
            if not listed and isinstance(body["servers"], list) and not body["servers"]:
                self.error(
                    "N002",
                    f"[upstream.{name}] has no servers",
                    self.at.key((*path, "servers")),
                    help='add "HOST:PORT"',
                )
        apps = []
        if "apps" in body:
            for text, item_span in self.strings((*path, "apps"), body["apps"], "application names"):
                module, colon, attr = text.partition(":")
                if colon and not (_DOTTED.fullmatch(module) and _DOTTED.fullmatch(attr)):
                    self.error(
                        "N002",
                        f"{text!r} is not module:attr",
                        item_span,
                        help="name a factory without its arguments (myapplication:make_app)"
                        if "(" in attr
                        else None,
                    )
                    continue
                if not colon and not _IDENT.fullmatch(text):
                    self.error("N002", f"{text!r} is neither a use name nor module:attr", item_span)
                    continue
                apps.append(App(text, item_span))
        return Upstream(name, tuple(servers), tuple(apps), span)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "an empty string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return "a " + type(value).__name__


def _syntax_error(source: Source, exc: tomllib.TOMLDecodeError) -> Diagnostic:
    message = str(exc)
    m = _LOCATION.search(message)
    if m and m.group(1):
        line, column = int(m.group(1)), int(m.group(2))
    else:
        lines = source.text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    text = message[: m.start()] if m else message
    return Diagnostic(
        "N001",
        f"the upstreams file is not valid TOML: {text[:1].lower() + text[1:]}",
        Span.point(line, column),
        help="see docs/deploy.md for the upstreams file",
        source=source,
    )


def read(path: str, raw: bytes) -> tuple[Upstreams | None, list[Diagnostic]]:
    """The upstreams file's contents, and every problem found in it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        source = Source(path, raw.decode("utf-8", "replace"), raw)
        return None, [
            Diagnostic(
                "N001",
                f"the upstreams file is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                Span.point(line, column),
                source=source,
            )
        ]
    source = Source(path, text, raw)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [_syntax_error(source, exc)]
    reader = _Reader(source, _Locator.scan(source))
    for key in data:
        if key not in ("edge", "upstream"):
            reader.error(
                "N002",
                f"unknown table {key!r}",
                reader.at.table((key,)),
                help="the upstreams file has [edge] and [upstream.NAME] tables",
            )
    edge = data.get("edge", {})
    if not isinstance(edge, dict):
        reader.error("N002", "'edge' must be a table", reader.at.key(("edge",)))
        edge = {}
    for key in edge:
        if key != "listen":
            reader.error(
                "N002",
                f"unknown key {key!r} in [edge]",
                reader.at.key(("edge", key)),
                help="[edge] has listen",
            )
    listen = reader.listen(edge)
    groups = data.get("upstream", {})
    upstreams = []
    if not isinstance(groups, dict):
        reader.error(
            "N002", "'upstream' must hold tables [upstream.NAME]", reader.at.key(("upstream",))
        )
        groups = {}
    for name, body in groups.items():
        found = reader.upstream(name, body)
        if found is not None:
            upstreams.append(found)
    return Upstreams(source, listen, tuple(upstreams)), reader.diagnostics


# -- applications -> upstreams ------------------------------------------------------


def routed_targets(table: RouteTable) -> dict[str, tuple[AppTarget | FactoryTarget, str | None]]:
    """``module:attr`` -> (its first target as routed, the use name it has),
    for every application and factory that a route of the table names."""
    out: dict[str, tuple[AppTarget | FactoryTarget, str | None]] = {}
    routes = sorted(
        (r for b in table.all_blocks() for r in b.routes),
        key=lambda r: (r.target.span.line, r.target.span.column),
    )
    for route in routes:
        target = route.target
        if isinstance(target, AppTarget | FactoryTarget) and target.ref not in out:
            out[target.ref] = (target, route.use)
    return out


def owners(
    upstreams: Upstreams, table: RouteTable, source_name: str
) -> tuple[dict[str, str], list[Diagnostic]]:
    """``module:attr`` -> upstream name for every routed application and
    factory, with the diagnostics of the mapping (N003, N004, N005, N101)."""
    uses = {u.name: u.target for u in table.uses}
    routed = routed_targets(table)
    owner: dict[str, str] = {}
    first: dict[str, App] = {}
    found: list[Diagnostic] = []
    src = upstreams.source
    for upstream in upstreams.upstreams:
        known: list[tuple[App, str]] = []
        unknown: list[App] = []
        for app in upstream.apps:
            target = uses.get(app.text)
            ref = target.ref if isinstance(target, AppTarget | FactoryTarget) else app.text
            (known if ref in routed else unknown).append((app, ref) if ref in routed else app)
        if not known and upstream.apps:
            found.append(
                Diagnostic(
                    "N005",
                    f"upstream {upstream.name!r} serves nothing that {source_name} routes",
                    upstream.span,
                    help="remove it, or name the applications it serves in its apps",
                    source=src,
                )
            )
        elif not upstream.apps:
            found.append(
                Diagnostic(
                    "N005",
                    f"upstream {upstream.name!r} names no application",
                    upstream.span,
                    help='name the applications it serves: apps = ["frontend"]',
                    source=src,
                )
            )
        else:
            for app in unknown:
                found.append(
                    Diagnostic(
                        "N004",
                        f"{app.text!r} is not an application or factory that {source_name} routes",
                        app.span,
                        help=_suggest(app.text, routed, uses),
                        source=src,
                    )
                )
        for app, ref in known:
            if ref in owner and owner[ref] != upstream.name:
                before = first[ref]
                found.append(
                    Diagnostic(
                        "N003",
                        f"{ref} is served by two upstreams, {owner[ref]!r} and {upstream.name!r}",
                        app.span,
                        help=f"an application runs on one upstream: the first is at "
                        f"{before.span.line}:{before.span.column}",
                        source=src,
                    )
                )
                continue
            owner.setdefault(ref, upstream.name)
            first.setdefault(ref, app)
    for ref, (target, use) in routed.items():
        if ref not in owner:
            name = use or ref
            found.append(
                Diagnostic(
                    "N101",
                    f"{ref} is not served by any upstream of {src.path}",
                    target.span,
                    help=f'add "{name}" to the apps of the upstream that runs it',
                )
            )
    return owner, found


def _suggest(text: str, routed: dict[str, Any], uses: dict[str, Any]) -> str:
    names = sorted(set(routed) | {u for u, t in uses.items() if getattr(t, "ref", None) in routed})
    close = difflib.get_close_matches(text, names, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "name a use name or module:attr that a route names; a factory without its arguments"


# -- one build's upstreams -------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """The upstreams file of a build (``--upstreams``): its path as given, its bytes."""

    path: Path
    raw: bytes


@dataclass
class Resolved:
    """The upstreams file read against a plan: who serves what, and every
    problem found (N001-N005, N101, N102)."""

    upstreams: Upstreams | None
    owner: dict[str, str]
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.upstreams is not None and not any(d.is_error for d in self.diagnostics)


def given(options: dict[str, Any], what: str) -> Input:
    found = options.get("upstreams")
    if not isinstance(found, Input):
        raise UsageError(f"{what} needs --upstreams FILE (where each application runs)")
    return found


def resolve(plan: Plan, source: Source, upstreams: Input) -> Resolved:
    """Read the upstreams file and map the plan's applications onto it."""
    found, diagnostics = read(str(upstreams.path), upstreams.raw)
    if found is None:
        return Resolved(None, {}, diagnostics)
    owner, more = owners(found, plan.table, source.path)
    diagnostics += more
    if not any(d.code in ("N003", "N101") for d in more):
        for back in returning_chains(plan, owner):
            diagnostics.append(
                Diagnostic(
                    "N102",
                    f"a fallback chain comes back to upstream {back.upstream!r} after "
                    f"{back.left!r}: the edge hands a request on (421) only forward",
                    back.route.path.span,
                    help="serve the routes of such a chain from fewer upstreams, so that each "
                    "upstream's routes follow one another in it",
                )
            )
    return Resolved(found, owner, diagnostics)


@functools.lru_cache(maxsize=4)
def _resolve_cached(plan: Plan, source: Source, raw: bytes, path: Path) -> Resolved:
    return resolve(plan, source, Input(path, raw))


def resolve_once(plan: Plan, source: Source, upstreams: Input) -> Resolved:
    """``resolve``, remembered for a build's ``check`` and ``emit``."""
    return _resolve_cached(plan, source, upstreams.raw, upstreams.path)


def relative_name(path: Path, output: Path | None) -> str:
    """An input's path relative to the output's directory, with '/' (as
    the header names the routing file, SPEC §5)."""
    if output is None:
        return path.as_posix()
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(output.parent))
    return rel.replace(os.sep, "/")
