"""Hypothesis strategies: random *valid* routing files, fake targets, requests.

The pieces are small on purpose (host labels ``a``/``b``/``x``, path
segments ``a``/``b``/``c``/``é``) so that patterns overlap and random requests
hit them often. Everything that would make a file a compile error (duplicate
route shapes in a block, duplicate or ambiguous host patterns, factory
arguments or redirect captures not available to the route, a capture name in
both host and path, a redirect URL whose host a capture or ``{path}`` could
set) is avoided by construction, so ``TableSpec.source()``
always compiles; tests may still ``assume`` it as a safety net.

Also here: ``fake_targets``, a context manager that installs a module of WSGI
apps and factories in ``sys.modules`` whose apps record what they received,
and ``requests``, a strategy for WSGI environs aimed at a table; ``note``
and ``event``, Hypothesis's, are safe to call outside a property.
"""

from __future__ import annotations

import contextlib
import sys
import types
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import event as _event
from hypothesis import note as _note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

FAKE_MODULE = "dispatchc_fake_targets"

APP_ATTRS = ("app_0", "app_1", "app_2", "ns.app")
FACTORY_ATTRS = ("f_0", "f_1", "f_2")

#: Pieces of adversarial text, for every slot that holds text from a routing
#: file: Python string, comment and format syntax, line separators Python's
#: str.splitlines() knows but its tokenizer does not, NUL and other controls,
#: bidi controls, invisible and IDNA-mapped characters (soft hyphen, ZWJ,
#: ideographic full stop, ligatures, Kelvin sign), the language's own
#: punctuation, and payloads shaped like Python code. tests/test_injection.py
#: tries each in each kind of slot; tests/fuzz_strategies.py builds values
#: from them.
NASTY = [
    "'",
    '"',
    "\\",
    '"""',
    "'''",
    "{",
    "}",
    "{{",
    "}}",
    "{}",
    "{path}",
    "%",
    "%s",
    "%(x)s",
    "#",
    "\\n",
    "\\x00",
    "\u2028",
    "\u2029",
    "\x85",
    "\x00",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x7f",
    "\u202e",
    "\u2066",
    "\u200f",
    "\ufeff",
    "\xad",
    "\u200d",
    "。",
    "ﬁ",
    "́",
    "\t",
    " ",
    "é",
    "ß",
    "K",
    "İ",
    "漢",
    "😀",
    "(",
    ")",
    ",",
    ";",
    ":",
    ".",
    "/",
    "-",
    "->",
    "_",
    "*",
    "=",
    "[",
    "]",
    "<",
    ">",
    "|",
    "`",
    "^",
    "~",
    "$",
    "'); import os #",
    '"+__import__("os")+"',
    "\\\\'",
    "0",
    "{0}",
    "\\u2028",
    "\x1c",
    "\\'",
    '\\"',
    "');import os;os.system('x')#",
    '"); import os #',
    "\\\nimport os\n",
]


def note(text: str) -> None:
    """``hypothesis.note`` inside a property; nothing in the plain tests."""
    if currently_in_test_context():
        _note(text)


def event(text: str) -> None:
    """``hypothesis.event`` inside a property; nothing in the plain tests."""
    if currently_in_test_context():
        _event(text)


# -- fake target module -------------------------------------------------------


@dataclass
class Calls:
    """What the fake targets saw during one request."""

    apps: list[dict[str, Any]] = field(default_factory=list)
    factories: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def clear(self) -> None:
        self.apps.clear()
        self.factories.clear()


_RECORDED = ("SCRIPT_NAME", "PATH_INFO", "dispatchc.route", "wsgiorg.routing_args")
_MISSING = object()


class RecordingApp:
    """A WSGI app that records the environ keys dispatch sets, and its label."""

    def __init__(self, label: str, calls: Calls):
        self.label = label
        self.calls = calls

    def __call__(self, environ, start_response):
        seen = {"label": self.label}
        for key in _RECORDED:
            value = environ.get(key, _MISSING)
            if value is not _MISSING:
                seen[key] = value
        self.calls.apps.append(seen)
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", self.label)])
        return [self.label.encode("utf-8")]


def factory_label(attr: str, args: tuple[Any, ...]) -> str:
    return f"{attr}{args!r}"


def make_decide(mode: str, salt: int) -> Callable[[str, tuple[Any, ...]], bool]:
    """Whether factory ``attr`` called with ``args`` returns an app (True) or None."""

    def decide(attr: str, args: tuple[Any, ...]) -> bool:
        if mode == "all":
            return True
        if mode == "none":
            return False
        return zlib.crc32(repr((salt, attr, args)).encode("utf-8")) % 2 == 0

    return decide


def build_fake_module(
    name: str, calls: Calls, decide: Callable[[str, tuple[Any, ...]], bool]
) -> types.ModuleType:
    module = types.ModuleType(name)
    for attr in APP_ATTRS:
        if "." not in attr:
            setattr(module, attr, RecordingApp(attr, calls))
    module.ns = types.SimpleNamespace(app=RecordingApp("ns.app", calls))
    module.default = RecordingApp("default", calls)

    def make_factory(attr: str):
        def factory(*args):
            calls.factories.append((attr, args))
            if decide(attr, args):
                return RecordingApp(factory_label(attr, args), calls)
            return None

        factory.__name__ = attr
        return factory

    for attr in FACTORY_ATTRS:
        setattr(module, attr, make_factory(attr))
    return module


@contextlib.contextmanager
def fake_targets(
    decide: Callable[[str, tuple[Any, ...]], bool] = lambda attr, args: True,
    name: str = FAKE_MODULE,
    extra_apps: tuple[str, ...] = (),
) -> Iterator[Calls]:
    """Install the fake target module as ``name`` for the duration of the block."""
    calls = Calls()
    module = build_fake_module(name, calls, decide)
    for attr in extra_apps:
        setattr(module, attr, RecordingApp(attr, calls))
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        yield calls
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


# -- routing files ------------------------------------------------------------

HOST_CAPTURES = ("h1", "h2")
# Exact hosts: (source text, ASCII form). Labels overlap the pattern suffixes.
EXACT_HOSTS = (
    ("a.example.com", "a.example.com"),
    ("b.example.com", "b.example.com"),
    ("example.com", "example.com"),
    ("a.x.example.com", "a.x.example.com"),
    ("x.example.com", "x.example.com"),
    ("a.a.example.com", "a.a.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("[::1]", "[::1]"),
)
SUFFIXES = ("example.com", "x.example.com", "a.example.com")
PORTS = (None, None, None, 80, 443, 8080)

PATH_LITERALS = ("a", "b", "c", "é")


def _random_case(draw, text: str) -> str:
    if not text.isascii() or text.startswith("[") or not draw(st.booleans()):
        return text
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flips, strict=True))


@dataclass(frozen=True)
class HostSpec:
    kind: str  # exact | capture | wildcard
    ascii: str  # exact: the ASCII host; else the ASCII suffix
    ncaps: int
    port: int | None
    text: str  # as written in the file

    @property
    def key(self) -> tuple[object, ...]:
        """Equal keys are duplicate or ambiguous patterns (a compile error)."""
        return (self.kind, self.ncaps, self.ascii, self.port)

    @property
    def captures(self) -> tuple[str, ...]:
        return HOST_CAPTURES[: self.ncaps]

    @property
    def normalized(self) -> str:
        """SPEC §3: the pattern in ASCII form, as in ``environ["dispatchc.route"]``."""
        if self.kind == "capture":
            head = ".".join("{" + c + "}" for c in self.captures) + "."
        else:
            head = "*." if self.kind == "wildcard" else ""
        return head + self.ascii + ("" if self.port is None else f":{self.port}")


@st.composite
def host_specs(draw) -> HostSpec:
    kind = draw(st.sampled_from(("exact", "exact", "capture", "capture", "wildcard")))
    port = draw(st.sampled_from(PORTS))
    if kind == "exact":
        text, ascii_host = draw(st.sampled_from(EXACT_HOSTS))
        ncaps = 0
        head = ""
    else:
        text = ascii_host = draw(st.sampled_from(SUFFIXES))
        if kind == "capture":
            ncaps = draw(st.integers(1, 2))
            head = ".".join("{" + c + "}" for c in HOST_CAPTURES[:ncaps]) + "."
        else:
            ncaps = 0
            head = "*."
    text = _random_case(draw, text)
    if not text.startswith("[") and draw(st.integers(0, 7)) == 0:
        text += "."
    written = head + text + ("" if port is None else f":{port}")
    return HostSpec(kind, ascii_host, ncaps, port, written)


@dataclass(frozen=True)
class PathSpec:
    segments: tuple[tuple[str, str], ...]  # ("lit", text) | ("cap", name)

    @property
    def text(self) -> str:
        if not self.segments:
            return "/"
        return "".join("/" + (v if k == "lit" else "{" + v + "}") for k, v in self.segments)

    @property
    def shape(self) -> tuple[str | None, ...]:
        return tuple(v if k == "lit" else None for k, v in self.segments)

    @property
    def captures(self) -> tuple[str, ...]:
        return tuple(v for k, v in self.segments if k == "cap")


@st.composite
def path_specs(draw, max_segments: int = 3) -> PathSpec:
    n = draw(st.integers(0, max_segments))
    prefix = draw(st.sampled_from(("p", "q")))
    segments = []
    for i in range(n):
        if draw(st.integers(0, 2)) == 0:
            segments.append(("cap", f"{prefix}{i}"))
        else:
            segments.append(("lit", draw(st.sampled_from(PATH_LITERALS))))
    return PathSpec(tuple(segments))


def host_pattern_texts() -> st.SearchStrategy[str]:
    """Host patterns as written (random case, trailing dots, ports)."""
    return host_specs().map(lambda h: h.text)


def path_pattern_texts(max_segments: int = 3) -> st.SearchStrategy[str]:
    return path_specs(max_segments).map(lambda p: p.text)


# String literals as values and as written (with the two escapes).
STRING_ARGS = (("s", '"s"'), ("", '""'), ('q"x', '"q\\"x"'), ("b\\s", '"b\\\\s"'), ("é", '"é"'))
INT_ARGS = (0, 3, -1, 1024)
STATUS_CODES = (200, 204, 299, 404, 410, 503)
REDIRECT_CODES = (301, 302, 303, 307, 308)


@st.composite
def factory_targets(draw, available: tuple[str, ...], mod: str = FAKE_MODULE) -> str:
    attr = draw(st.sampled_from(FACTORY_ATTRS))
    kinds = ["str", "int"] + (["cap", "cap", "cap"] if available else [])
    args = []
    for kind in draw(st.lists(st.sampled_from(kinds), max_size=3)):
        if kind == "cap":
            args.append(draw(st.sampled_from(available)))
        elif kind == "str":
            args.append(draw(st.sampled_from(STRING_ARGS))[1])
        else:
            args.append(str(draw(st.sampled_from(INT_ARGS))))
    options = draw(st.sampled_from(("", "", "", " cache 0", " cache 1", " lazy", " cache 2 lazy")))
    return f"{mod}:{attr}({', '.join(args)}){options}"


@st.composite
def redirect_targets(draw, available: tuple[str, ...]) -> str:
    code = draw(st.sampled_from(REDIRECT_CODES))
    any_piece = ("/r", "?k=v", "{path}", "{{lit}}", "-é-") + tuple("{" + c + "}" for c in available)
    base = draw(st.sampled_from(("http://t", "https://t.example:8443", "", "/")))
    # After a host, or at the start: something that ends the host or the
    # first segment, so that no capture can set them (E311); after "/",
    # anything but a second "/" (E307).
    first = ("/r", "?k=v", "{path}") if base != "/" else any_piece[1:]
    pieces = draw(st.lists(st.sampled_from(any_piece), max_size=3))
    if pieces or draw(st.booleans()):
        pieces.insert(0, draw(st.sampled_from(first)))
    url = base + "".join(pieces)
    return f'redirect {code} "{url}"'


@dataclass(frozen=True)
class UseSpec:
    name: str
    kind: str  # app | factory | status | redirect
    text: str


@st.composite
def use_specs(draw) -> list[UseSpec]:
    count = draw(st.integers(0, 3))
    uses = []
    for i in range(count):
        kind = draw(st.sampled_from(("app", "factory", "status", "redirect")))
        if kind == "app":
            text = f"{FAKE_MODULE}:{draw(st.sampled_from(APP_ATTRS))}" + draw(
                st.sampled_from(("", " lazy"))
            )
        elif kind == "factory":
            text = draw(factory_targets(()))
        elif kind == "status":
            text = f"status {draw(st.sampled_from(STATUS_CODES))}"
        else:
            text = draw(redirect_targets(()))
        uses.append(UseSpec(f"u{i}", kind, text))
    return uses


@st.composite
def targets(draw, available: tuple[str, ...], uses: list[UseSpec]) -> str:
    kinds = ["app", "app", "factory", "factory", "factory", "factory", "status", "redirect"]
    if uses:
        kinds += ["use", "use"]
    kind = draw(st.sampled_from(kinds))
    if kind == "app":
        return f"{FAKE_MODULE}:{draw(st.sampled_from(APP_ATTRS))}" + draw(
            st.sampled_from(("", "", " lazy"))
        )
    if kind == "factory":
        return draw(factory_targets(available))
    if kind == "status":
        return f"status {draw(st.sampled_from(STATUS_CODES))}"
    if kind == "redirect":
        return draw(redirect_targets(available))
    use = draw(st.sampled_from(uses))
    option = ""
    if use.kind == "factory":
        option = draw(st.sampled_from(("", "", " cache 0", " lazy")))
    elif use.kind == "app":
        option = draw(st.sampled_from(("", "", " lazy")))
    return use.name + option


@dataclass(frozen=True)
class RouteSpec:
    path: PathSpec
    target: str
    top_level: bool = False  # default-block routes only: written outside `default { }`

    def line(self) -> str:
        return f"{self.path.text} -> {self.target}"


@dataclass(frozen=True)
class BlockSpec:
    patterns: tuple[HostSpec, ...]  # empty: the default block
    routes: tuple[RouteSpec, ...]


@dataclass(frozen=True)
class TableSpec:
    uses: tuple[UseSpec, ...]
    blocks: tuple[BlockSpec, ...]
    default: BlockSpec | None
    default_block_written: bool  # whether a `default { }` statement appears
    order: tuple[int, ...] = ()  # statement order (a permutation)

    def route_names(self) -> set[str]:
        """Every value ``environ["dispatchc.route"]`` may take for this table."""
        names = {
            f"{p.normalized} {r.path.text}"
            for b in self.blocks
            for p in b.patterns
            for r in b.routes
        }
        if self.default is not None:
            names |= {f"default {r.path.text}" for r in self.default.routes}
        return names

    def source(self) -> str:
        statements: list[str] = []
        for use in self.uses:
            statements.append(f"use {use.name} = {use.text}")
        for block in self.blocks:
            head = ", ".join(p.text for p in block.patterns)
            body = "".join(f"    {r.line()}\n" for r in block.routes)
            statements.append(f"host {head} {{\n{body}}}")
        if self.default is not None:
            inner = [r for r in self.default.routes if not r.top_level]
            outer = [r for r in self.default.routes if r.top_level]
            if self.default_block_written:
                body = "".join(f"    {r.line()}  # in default\n" for r in inner)
                statements.append(f"default {{\n{body}}}")
            statements.extend(r.line() for r in outer)
        if self.order and len(self.order) == len(statements):
            statements = [statements[i] for i in self.order]
        return "# generated by tests/strategies.py\n\n" + "\n".join(statements) + "\n"


def _block_captures(patterns: tuple[HostSpec, ...]) -> tuple[str, ...]:
    """Host captures usable as factory arguments: captured by every pattern."""
    if not patterns:
        return ()
    common = set(patterns[0].captures)
    for p in patterns[1:]:
        common &= set(p.captures)
    return tuple(sorted(common))


@st.composite
def block_routes(draw, patterns: tuple[HostSpec, ...], uses: list[UseSpec], max_routes: int = 5):
    min_size = 0 if draw(st.integers(0, 5)) == 0 else 1
    paths = draw(
        st.lists(path_specs(), min_size=min_size, max_size=max_routes, unique_by=lambda p: p.shape)
    )
    if paths and draw(st.integers(0, 2)) and all(p.segments for p in paths):
        paths.append(PathSpec(()))  # a "/" route: the end of most fallback chains
    host_caps = _block_captures(patterns)
    routes = []
    for path in paths:
        target = draw(targets(tuple(sorted(set(host_caps) | set(path.captures))), uses))
        top = not patterns and draw(st.booleans())
        routes.append(RouteSpec(path, target, top))
    return tuple(routes)


@st.composite
def tables(draw, max_blocks: int = 3) -> TableSpec:
    uses = draw(use_specs())
    patterns = draw(st.lists(host_specs(), max_size=5, unique_by=lambda h: h.key))
    blocks = []
    i = 0
    while i < len(patterns) and len(blocks) < max_blocks:
        size = draw(st.integers(1, 2))
        group = tuple(patterns[i : i + size])
        i += size
        blocks.append(BlockSpec(group, draw(block_routes(group, uses))))
    default = None
    written = False
    if draw(st.integers(0, 3)) or not blocks:
        default = BlockSpec((), draw(block_routes((), uses)))
        written = draw(st.booleans()) or not default.routes
        if not written:
            default = BlockSpec(
                (), tuple(RouteSpec(r.path, r.target, True) for r in default.routes)
            )
    count = len(uses) + len(blocks)
    if default is not None:
        count += int(written) + sum(r.top_level for r in default.routes)
    order = tuple(draw(st.permutations(range(count)))) if draw(st.booleans()) else ()
    return TableSpec(tuple(uses), tuple(blocks), default, written, order)


# -- requests -----------------------------------------------------------------

REQUEST_LABELS = ("a", "b", "x", "A", "evil", "a-b", "_")
REQUEST_SUFFIXES = (
    "example.com",
    "x.example.com",
    "a.example.com",
    "Example.COM",
    "evilexample.com",
    "example.org",
    "xn--bcher-kva.example",
)
SPECIAL_HOSTS = (
    "[::1]",
    "[::1]:8080",
    "[0:0::1]",
    "[::1",
    "[::1]x",
    "bücher.example",
    "a..example.com",
    ".example.com",
    "a b.example.com",
    "a.example.com..",
    "a.example.com:",
    "a.example.com:80:80",
    "é.example.com",
    "localhost",
    ("a." * 130) + "example.com",
)
PORT_TEXTS = ("",) * 6 + (":80", ":443", ":8080", ":8080", ":08080", ":0", ":65536", ":abc", ":")
REQUEST_SEGMENTS = ("a", "b", "c", "é".encode().decode("latin-1"), "é", "A", "zz", "", "..", "%61")


@st.composite
def request_hosts(draw) -> str:
    if draw(st.integers(0, 14)) == 0:
        return draw(st.sampled_from(SPECIAL_HOSTS))
    labels = draw(st.lists(st.sampled_from(REQUEST_LABELS), max_size=2))
    host = ".".join([*labels, draw(st.sampled_from(REQUEST_SUFFIXES))])
    if draw(st.integers(0, 3)) == 0:
        host = host.upper() if draw(st.booleans()) else host.title()
    if draw(st.integers(0, 5)) == 0:
        host += "."
    return host + draw(st.sampled_from(PORT_TEXTS))


@st.composite
def path_infos(draw) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(("", "/", "//", "///", "/a/", "/a//", "//a", "/é")))
    segments = draw(st.lists(st.sampled_from(REQUEST_SEGMENTS), min_size=1, max_size=5))
    path = "/" + "/".join(segments)
    if draw(st.integers(0, 4)) == 0:
        path += "/"
    return path


PATH_TAILS = ("", "", "/", "/more", "/more/x/", "//x", "x", "/a/b/c/d")
CAPTURE_VALUES = ("a", "b", "zz", "é".encode().decode("latin-1"), "c", "..")


@st.composite
def aimed_host(draw, block: BlockSpec) -> str:
    """A Host header built from one of the block's patterns."""
    pattern = draw(st.sampled_from(block.patterns))
    if pattern.kind == "exact":
        host = pattern.ascii
    else:
        n = pattern.ncaps if pattern.kind == "capture" else draw(st.integers(1, 2))
        if draw(st.integers(0, 4)) == 0:
            n = draw(st.integers(0, 3))  # one label too many or too few
        labels = draw(st.lists(st.sampled_from(("a", "b", "x")), min_size=n, max_size=n))
        host = ".".join([*labels, pattern.ascii])
    if draw(st.integers(0, 4)) == 0 and not host.startswith("["):
        host = host.upper()
    if draw(st.integers(0, 6)) == 0 and not host.startswith("["):
        host += "."
    if pattern.port is not None and draw(st.integers(0, 2)):
        port = f":{pattern.port}"
    else:
        port = draw(st.sampled_from(("", "", ":80", ":443", ":8080", ":0")))
    return host + port


@st.composite
def aimed_path(draw, block: BlockSpec) -> str:
    """A PATH_INFO built from one of the block's route patterns."""
    paths = [r.path for r in block.routes]
    if not paths:
        return draw(path_infos())
    path = draw(st.sampled_from(paths))
    pieces = []
    for kind, value in path.segments:
        if kind == "lit":
            pieces.append(value.encode("utf-8").decode("latin-1"))
        else:
            pieces.append(draw(st.sampled_from(CAPTURE_VALUES)))
    if pieces and draw(st.integers(0, 5)) == 0:
        pieces[draw(st.integers(0, len(pieces) - 1))] = draw(st.sampled_from(REQUEST_SEGMENTS))
    text = "".join("/" + p for p in pieces)
    return text + draw(st.sampled_from(PATH_TAILS))


@st.composite
def requests(draw, spec: TableSpec | None = None) -> dict[str, Any]:
    """A WSGI environ; with ``spec``, usually aimed at that table's hosts and paths."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": draw(st.sampled_from(("GET", "GET", "POST", "HEAD"))),
        "wsgi.url_scheme": draw(st.sampled_from(("http", "http", "https"))),
        "SERVER_NAME": draw(
            st.sampled_from(
                ("a.example.com", "example.com", "localhost", "B.Example.com.", "::1", "")
            )
        ),
        "SERVER_PORT": draw(st.sampled_from(("80", "443", "8080", "80", "", "0"))),
        "QUERY_STRING": draw(st.sampled_from(("", "", "q=1", "a=b&c=d"))),
    }
    # Usually aim at one block: a host of its patterns and a path of its routes.
    blocks = [] if spec is None else [b for b in (*spec.blocks, spec.default) if b is not None]
    block = draw(st.sampled_from(blocks)) if blocks and draw(st.integers(0, 3)) else None
    host_kind = draw(st.integers(0, 15))
    if host_kind == 0:
        pass  # no Host header: SERVER_NAME and SERVER_PORT
    elif host_kind == 1:
        environ["HTTP_HOST"] = ""
    elif block is not None and block.patterns and host_kind > 4:
        environ["HTTP_HOST"] = draw(aimed_host(block))
    else:
        environ["HTTP_HOST"] = draw(request_hosts())
    if draw(st.integers(0, 19)):
        if block is not None and draw(st.integers(0, 3)):
            environ["PATH_INFO"] = draw(aimed_path(block))
        else:
            environ["PATH_INFO"] = draw(path_infos())
    script = draw(st.sampled_from(("", "", "/pre", None)))
    if script is not None:
        environ["SCRIPT_NAME"] = script
    routing = draw(
        st.sampled_from(
            (None, None, None, ((), {}), (("pos",), {"h1": "old", "k": "v", "p0": "old"}), "")
            + ("x", (1, 2, 3), ((), None))  # not (args, kwargs): taken as absent
        )
    )
    if isinstance(routing, tuple) and len(routing) == 2 and isinstance(routing[1], dict):
        environ["wsgiorg.routing_args"] = (routing[0], dict(routing[1]))
    elif routing is not None:
        environ["wsgiorg.routing_args"] = routing
    return environ
