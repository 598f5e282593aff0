"""Hypothesis profiles and strategies for ``tests/test_fuzz.py``.

Two kinds of generated input:

* **Routing files, valid and near-valid** (``routing_files()``): valid files
  (``tests.strategies.tables()``, the samples, the golden cases, the broken
  examples, and lines built from the grammar's productions), then mutated at
  the token level (delete, duplicate, swap, replace, insert a token of the
  language) and at the byte level (truncate at any byte; insert NUL, 0xff,
  invalid or overlong UTF-8, a lone surrogate, U+2028, U+2029, U+0085, U+202E,
  U+FEFF, a bare CR; convert line ends to CRLF or CR), plus token soups and
  raw random bytes.
* **Injection templates** (``injection_templates()``): whole valid files whose
  every string-bearing position (host labels, path segments, capture names,
  ``use`` names, module and attribute names, string arguments, redirect URL
  text) is a *slot*. A slot's value is a unique marker (``k07x``) followed by
  a tail: a benign tail for the reference file, an adversarial one for the
  file under test. The marker decides every comparison the compiler makes
  between two slots (sorting hosts and segments), so both files have the
  same structure unless the compiler lets text change it.

Profiles (see ``docs/fuzzing.md``): ``DISPATCHC_FUZZ=long`` (or
``HYPOTHESIS_PROFILE=long``) selects the long fuzz session; anything else
the bounded default used by the test suite.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from .strategies import NASTY, tables

ROOT = Path(__file__).resolve().parent.parent

# -- profiles -------------------------------------------------------------------

_SUPPRESS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]

#: Registered under these names so that Hypothesis's own "default" profile
#: (which every other test module uses) is left alone.
PROFILE_NAMES = {"default": "dispatchc-fuzz-default", "long": "dispatchc-fuzz-long"}

settings.register_profile(
    PROFILE_NAMES["default"],
    # Same examples on every run (a bounded, reproducible suite); no shrinking,
    # so a failure is reported at once, without minutes of shrinking.
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=_SUPPRESS,
    print_blob=True,
)
settings.register_profile(
    PROFILE_NAMES["long"],
    max_examples=int(os.environ.get("DISPATCHC_FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=_SUPPRESS,
    print_blob=True,
)


def profile() -> str:
    """``long`` or ``default``, from ``DISPATCHC_FUZZ`` or ``HYPOTHESIS_PROFILE``."""
    chosen = os.environ.get("DISPATCHC_FUZZ") or os.environ.get("HYPOTHESIS_PROFILE") or ""
    return "long" if chosen.strip().lower() == "long" else "default"


LONG = profile() == "long"


def fuzz_settings(examples: int) -> settings:
    """Settings for one fuzz test: ``examples`` examples in the default
    profile; the long profile's count (``DISPATCHC_FUZZ_EXAMPLES``) otherwise."""
    parent = settings.get_profile(PROFILE_NAMES[profile()])
    if LONG:
        return settings(parent)
    return settings(parent, max_examples=examples)


#: The largest repetition a random example makes (``{`` repeated, segments in
#: a path, labels in a host, arguments of a factory). Big shapes are also
#: covered by explicit tests; the long profile goes further.
MAX_REPEAT = int(os.environ.get("DISPATCHC_FUZZ_MAX_REPEAT", "3000" if LONG else "120"))

# -- the language's tokens --------------------------------------------------------

KEYWORDS = ["use", "host", "default", "status", "redirect", "cache", "lazy"]
PUNCT = ["->", "=", ",", "{", "}", "(", ")", ":", "#"]
PATHS = ["/", "/a", "/a/b", "/{x}", "/{x}/y", "/é", "/a-b", "/{x}/{y}", "/{}", "/a/", "//", "/{a"]
HOSTS = [
    "example.com",
    "www.example.com",
    "{sub}.example.com",
    "{a}.{b}.example.com",
    "*.example.com",
    "a.test:8080",
    "[::1]",
    "[::1]:8080",
    "bücher.example",
    "Example.COM.",
    "a..b",
    "{x}",
    "*",
    "a.test:",
    "a.test:\u0668\u0660",
    "a.test:\u00b2",
    "[fe80::1%eth0]",
    "xn--.test",
    "a\u3002b.test",
]
NAMES = ["frontend", "x", "sub", "prefix", "a", "y", "app", "é", "_", "None", "class", "status"]
REFS = [
    "m:a",
    "pkg.mod:obj.app",
    "m:make",
    "my-app:x",
    "a..b:c",
    "m:1x",
    "frontend_app:application",
]
INTS = ["0", "404", "301", "200", "599", "-1", "1024", "08080", "99999999999"]
STRINGS = ['"s"', '""', '"http://t/{path}"', '"{x}"', '"q\\"x"', '"b\\\\s"', '"\\n"', '"é漢"']
COMMENTS = ["# comment", "#", "# {", '# "']
TOKENS = KEYWORDS + PUNCT + PATHS + HOSTS + NAMES + REFS + INTS + STRINGS + COMMENTS

#: Byte sequences inserted into files: NUL, bytes that are never UTF-8, a
#: truncated sequence, an overlong '/', a lone surrogate, Unicode line and
#: paragraph separators, NEL, bidi overrides, BOM/ZWNBSP, CR, controls.
SPECIAL_BYTES = [
    b"\x00",
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\xe2\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    "\u2028".encode(),
    "\u2029".encode(),
    "\x85".encode(),
    "\u202e".encode(),
    "\u2066".encode(),
    "\ufeff".encode(),
    "\u200b".encode(),
    b"\r",
    b"\r\n",
    b"\n",
    b"\t",
    b"\x0b",
    b"\x0c",
    b"\x1b[31m",
    b"\x7f",
    b" ",
    b'"',
    b"\\",
    b"{",
    b"}",
    b"#",
    b"->",
    "é".encode(),
    "😀".encode(),
    b"9" * 4301,  # past Python's int-to-str digit limit
]

SEED_FILES = sorted(
    [
        *(ROOT / "samples").glob("*.disp"),
        *(ROOT / "tests" / "targets").glob("*/cases/*/routes.disp"),
        *(ROOT / "tests" / "broken").glob("*.disp"),
        *(ROOT / "tests" / "fmt_cases").glob("*.disp"),
    ]
)
SEEDS = [p.read_bytes() for p in SEED_FILES]

# -- grammar-aware lines -----------------------------------------------------------


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)


@st.composite
def targets_text(draw) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.sampled_from(REFS + NAMES))
    if kind == 1:
        ref = draw(st.sampled_from(REFS))
        args = draw(st.lists(st.sampled_from(NAMES + INTS + STRINGS), max_size=4))
        return f"{ref}({', '.join(args)})"
    if kind == 2:
        return f"status {draw(st.sampled_from(INTS))}"
    if kind == 3:
        return f"redirect {draw(st.sampled_from(INTS))} {draw(st.sampled_from(STRINGS))}"
    if kind == 4:
        # A big factory: many arguments.
        n = draw(st.integers(0, MAX_REPEAT))
        arg = draw(st.sampled_from(['"s"', "1", "x"]))
        return "m:f(" + ", ".join([arg] * n) + ")"
    return draw(st.sampled_from(TOKENS))


@st.composite
def options_text(draw) -> str:
    return " ".join(
        draw(st.lists(st.sampled_from(["cache 3", "cache 0", "lazy", "cache"]), max_size=2))
    )


@st.composite
def route_line(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        n = draw(st.integers(1, MAX_REPEAT))
        seg = draw(st.sampled_from(["a", "{x}", "é", "-"]))
        if seg == "{x}":
            path = "".join(f"/{{x{i}}}" for i in range(n))
        else:
            path = "/" + "/".join([seg] * n)
    else:
        path = draw(st.sampled_from(PATHS))
    return _join([path, "->", draw(targets_text()), draw(options_text())])


@st.composite
def host_line(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        n = draw(st.integers(1, MAX_REPEAT))
        label = draw(st.sampled_from(["a", "{c}", "é"]))
        if label == "{c}":
            pattern = ".".join(f"{{c{i}}}" for i in range(n)) + ".test"
        else:
            pattern = ".".join([label] * n) + ".test"
        patterns = [pattern]
    else:
        patterns = draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3))
    return f"host {', '.join(patterns)} {{"


@st.composite
def grammar_lines(draw) -> str:
    """Lines from the grammar's productions: mostly valid statements, blocks
    that may not close, and the odd stray token."""
    lines: list[str] = []
    depth = 0
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind <= 3:
            lines.append(("    " if depth else "") + draw(route_line()))
        elif kind == 4 and not depth:
            lines.append(draw(host_line()))
            depth = 1
        elif kind == 5 and not depth:
            lines.append("default {")
            depth = 1
        elif kind == 6 and depth:
            lines.append("}")
            depth = 0
        elif kind == 7:
            name = draw(st.sampled_from(NAMES))
            lines.append(_join(["use", name, "=", draw(targets_text()), draw(options_text())]))
        elif kind == 8:
            lines.append(draw(st.sampled_from(COMMENTS + [""])))
        else:
            lines.append(" ".join(draw(st.lists(st.sampled_from(TOKENS), max_size=5))))
    if depth and draw(st.booleans()):
        lines.append("}")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@st.composite
def token_soup(draw) -> str:
    tokens = draw(st.lists(st.sampled_from(TOKENS + ["\n", "\n", "\n"]), max_size=40))
    sep = draw(st.sampled_from([" ", "", "  "]))
    return sep.join(tokens)


@st.composite
def deep_text(draw) -> str:
    """One shape repeated many times: the grammar has no nesting, so these
    are what 'deep' means here."""
    n = draw(st.integers(1, MAX_REPEAT))
    unit = draw(
        st.sampled_from(
            ["{", "}", "(", "host a.test {\n", "{\n", "/a", "/{x}", "->", '"', "\\", "#", ":", "."]
        )
    )
    head = draw(st.sampled_from(["", "/ -> m:f", "host ", "/x -> ", "use a = m:f"]))
    return head + unit * n + "\n"


# -- mutations --------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\s+|->|[{}(),=:#\"]|[^\s{}(),=:#\"]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


@st.composite
def mutate_tokens(draw, text: str) -> str:
    tokens = _tokens(text)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert"]))
        if not tokens:
            tokens = [draw(st.sampled_from(TOKENS))]
            continue
        i = draw(st.integers(0, len(tokens) - 1))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "replace":
            tokens[i] = draw(st.sampled_from(TOKENS))
        else:
            tokens.insert(i, draw(st.sampled_from(TOKENS + [" ", "\n"])))
    return "".join(tokens)


@st.composite
def mutate_bytes(draw, raw: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "insert", "insert", "replace", "crlf", "cr", "bom"]))
        at = draw(st.integers(0, len(raw)))
        if op == "truncate":
            raw = raw[:at]
        elif op == "insert":
            piece = draw(
                st.one_of(st.sampled_from(SPECIAL_BYTES), st.binary(min_size=1, max_size=4))
            )
            raw = raw[:at] + piece + raw[at:]
        elif op == "replace":
            piece = draw(st.sampled_from(SPECIAL_BYTES))
            raw = raw[:at] + piece + raw[at + 1 :]
        elif op == "crlf":
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        elif op == "cr":
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        else:
            raw = b"\xef\xbb\xbf" + raw
    return raw


@st.composite
def valid_texts(draw) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(tables()).source()
    if kind == 1:
        return draw(st.sampled_from(SEEDS)).decode("utf-8")
    return draw(grammar_lines())


@st.composite
def routing_files(draw) -> bytes:
    """Bytes of a routing file: valid, near-valid, or garbage."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(valid_texts()).encode("utf-8")
    if kind <= 3:
        text = draw(mutate_tokens(draw(valid_texts())))
        raw = text.encode("utf-8")
        return draw(mutate_bytes(raw)) if draw(st.booleans()) else raw
    if kind <= 6:
        return draw(mutate_bytes(draw(valid_texts()).encode("utf-8")))
    if kind == 7:
        return draw(token_soup()).encode("utf-8")
    if kind == 8:
        return draw(deep_text()).encode("utf-8")
    return draw(st.binary(max_size=200))


# -- stub targets --------------------------------------------------------------------


class StubApp:
    """A WSGI app, and a factory of apps, for any target name: records what
    reached it in ``environ["fuzz.target"]``."""

    def __init__(self, label: tuple[Any, ...]):
        self._label = label

    def __getattr__(self, name: str) -> StubApp:
        if name.startswith("__"):
            raise AttributeError(name)
        return StubApp((*self._label, name))

    def __call__(self, *args: Any) -> Any:
        if len(args) == 2 and isinstance(args[0], dict) and callable(args[1]):
            environ, start_response = args
            environ["fuzz.target"] = self._label
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"stub"]
        return StubApp((*self._label, ("called", args)))


class StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> StubApp:
        if name.startswith("__"):
            raise AttributeError(name)
        return StubApp((self.__name__, name))


def target_modules(table: Any) -> set[str]:
    """Every module named by an application or factory target of an IR table."""
    from dispatchc.ir import AppTarget, FactoryTarget

    found = set()
    for block in table.all_blocks():
        for route in block.routes:
            if isinstance(route.target, AppTarget | FactoryTarget):
                found.add(route.target.module)
    for use in table.uses:
        if isinstance(use.target, AppTarget | FactoryTarget):
            found.add(use.target.module)
    return found


@contextlib.contextmanager
def stub_modules(names: set[str]) -> Iterator[None]:
    """Install a stub module for each name (and its parents) in sys.modules.

    Names whose top-level package is in the standard library are left to the
    real modules (the generated module imports the standard library too).
    """
    installed: dict[str, Any] = {}
    for name in names:
        parts = name.split(".")
        if parts[0] in sys.stdlib_module_names:
            continue
        for i in range(1, len(parts) + 1):
            sub = ".".join(parts[:i])
            if sub not in installed:
                installed[sub] = sys.modules.get(sub)
                sys.modules[sub] = StubModule(sub)
    try:
        yield
    finally:
        for sub, previous in installed.items():
            if previous is None:
                sys.modules.pop(sub, None)
            else:
                sys.modules[sub] = previous


# -- injection templates ------------------------------------------------------------

#: Ordinary characters for each kind of slot, so that many tails are valid.
ORDINARY = {
    "host": list("abcxyz0189-_") + ["é", "ü", "ß", "漢"],
    "seg": list("abz09-_.~%!$&'()*+,;=:@") + ["é", "漢", "😀"],
    "ident": list("abzAZ09_") + ["é", "ß", "漢", "ª"],
    "str": list("az09 '\"\\{}#%") + ["é", "\u2028", "\x00"],
    "url": list("az09-._~:/?#[]@!$&'()*+,;=%") + ["é", "漢"],
}
#: Characters (or sequences) that end the token a slot is written in, or
#: split it into several (a '/' in a path segment, a '.' in a host label):
#: a file holding one may legitimately mean something else, so only the
#: weaker checks apply to it.
_SPLITTERS = {
    "host": set(',{}#".:[]'),
    "seg": set("#/{}"),
    "ident": set(':(),#"{}='),
    "str": set(),
    "url": set(),
}
_WS = re.compile(r"\s")


def splits_token(kind: str, value: str) -> bool:
    if kind in ("str", "url"):
        return False
    return bool(_WS.search(value)) or "->" in value or any(c in _SPLITTERS[kind] for c in value)


@dataclass(frozen=True)
class Slot:
    kind: str  # host | seg | ident | str | url
    marker: str


@dataclass(frozen=True)
class SlotRef:
    index: int
    how: str = "plain"  # plain | quoted | url


Piece = str | SlotRef


@dataclass(frozen=True)
class HostSpec:
    kind: str  # exact | port | two | capture | wildcard
    labels: tuple[int, ...]  # literal label slots (the TLD 'test' follows)
    capture: int | None = None


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # app | factory | status | redirect | use
    module: tuple[int, ...] = ()
    attr: tuple[int, ...] = ()
    args: tuple[tuple[str, Any], ...] = ()  # ("str", slot) | ("int", n) | ("cap", slot)
    use: int | None = None  # the use name slot
    code: int = 0


@dataclass(frozen=True)
class RouteSpec:
    segments: tuple[tuple[str, int], ...]  # ("lit", slot) | ("cap", slot)
    target: TargetSpec


@dataclass(frozen=True)
class BlockSpec:
    hosts: tuple[HostSpec, ...]  # () for the default block
    routes: tuple[RouteSpec, ...]
    written: bool = True  # default block: in `default { }` (else top level)


@dataclass
class Template:
    slots: list[Slot] = field(default_factory=list)
    lines: list[list[Piece]] = field(default_factory=list)
    blocks: list[BlockSpec] = field(default_factory=list)
    uses: dict[int, TargetSpec] = field(default_factory=dict)

    def new(self, kind: str) -> int:
        self.slots.append(Slot(kind, f"k{len(self.slots):02d}x"))
        return len(self.slots) - 1

    def render(self, values: list[str]) -> str:
        out = []
        for line in self.lines:
            text = []
            for piece in line:
                if isinstance(piece, str):
                    text.append(piece)
                    continue
                value = values[piece.index]
                if piece.how == "quoted":
                    value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
                elif piece.how == "url":
                    value = value.replace("{", "{{").replace("}", "}}")
                text.append(value)
            out.append("".join(text))
        return "\n".join(out) + "\n"


def _dotted(t: Template, slots: tuple[int, ...]) -> list[Piece]:
    out: list[Piece] = []
    for i, s in enumerate(slots):
        if i:
            out.append(".")
        out.append(SlotRef(s))
    return out


def target_pieces(t: Template, target: TargetSpec) -> list[Piece]:
    if target.kind == "use":
        assert target.use is not None
        return [SlotRef(target.use)]
    if target.kind == "status":
        return [f"status {target.code}"]
    if target.kind == "redirect":
        return [f"redirect {target.code} "] + _url_pieces(target)
    pieces: list[Piece] = [*_dotted(t, target.module), ":", *_dotted(t, target.attr)]
    if target.kind == "factory":
        pieces.append("(")
        for i, (kind, value) in enumerate(target.args):
            if i:
                pieces.append(", ")
            if kind == "str":
                pieces.append(SlotRef(value, "quoted"))
            elif kind == "int":
                pieces.append(str(value))
            else:
                pieces.append(SlotRef(value))
        pieces.append(")")
    return pieces


def _url_pieces(target: TargetSpec) -> list[Piece]:
    """A redirect URL: '"', then the parts in ``args``, then '"'."""
    pieces: list[Piece] = ['"']
    for kind, value in target.args:
        if kind == "fixed":
            pieces.append(value)
        elif kind == "text":
            pieces.append(SlotRef(value, "url"))
        elif kind == "cap":
            pieces += ["{", SlotRef(value), "}"]
        else:
            pieces.append("{path}")
    pieces.append('"')
    return pieces


@st.composite
def _target(
    draw, t: Template, captures: tuple[int, ...], uses: list[int], redirect: bool = True
) -> TargetSpec:
    kinds = ["app", "app", "factory", "factory", "status"] + (["redirect"] if redirect else [])
    kinds += ["use"] if uses else []
    kind = draw(st.sampled_from(kinds))
    if kind == "use":
        return TargetSpec("use", use=draw(st.sampled_from(uses)))
    if kind == "status":
        return TargetSpec("status", code=draw(st.sampled_from([204, 404, 410, 299])))
    if kind == "redirect":
        fixed = draw(st.sampled_from(["http://", "https://h.test/", "/", ""]))
        parts: list[tuple[str, Any]] = [("fixed", fixed), ("text", t.new("url"))]
        if captures and draw(st.booleans()):
            if fixed in ("http://", ""):
                # Not in the host or the first segment, where a capture
                # could set the host (E311).
                parts.append(("fixed", "/"))
            parts += [("cap", draw(st.sampled_from(captures))), ("text", t.new("url"))]
        if draw(st.booleans()):
            parts.append(("path", None))
        return TargetSpec("redirect", args=tuple(parts), code=draw(st.sampled_from([301, 308])))
    module = tuple(t.new("ident") for _ in range(draw(st.integers(1, 2))))
    attr = tuple(t.new("ident") for _ in range(draw(st.integers(1, 2))))
    if kind == "app":
        return TargetSpec("app", module, attr)
    args: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        which = draw(st.sampled_from(["str", "str", "int"] + (["cap"] if captures else [])))
        if which == "str":
            args.append(("str", t.new("str")))
        elif which == "int":
            args.append(("int", draw(st.sampled_from([0, 7, -3]))))
        else:
            args.append(("cap", draw(st.sampled_from(captures))))
    return TargetSpec("factory", module, attr, tuple(args))


def _options(target: TargetSpec, draw) -> str:  # type: ignore[no-untyped-def]
    if target.kind == "factory":
        return draw(st.sampled_from(["", "", " lazy", " cache 3"]))
    if target.kind == "app":
        return draw(st.sampled_from(["", "", " lazy"]))
    return ""


@st.composite
def _routes(draw, t: Template, host_captures: tuple[int, ...], uses: list[int]):  # type: ignore[no-untyped-def]
    routes = []
    shapes: set[tuple[int | None, ...]] = set()
    for _ in range(draw(st.integers(0, 3))):
        kinds = draw(st.lists(st.sampled_from(["lit", "lit", "cap"]), max_size=3))
        shape = tuple(0 if k == "lit" else None for k in kinds)
        if all(k == "cap" for k in kinds):
            if shape in shapes:  # two all-capture paths of one length: E103
                continue
            shapes.add(shape)
        segments = tuple((k, t.new("seg" if k == "lit" else "ident")) for k in kinds)
        captures = host_captures + tuple(s for k, s in segments if k == "cap")
        routes.append(RouteSpec(segments, draw(_target(t, captures, uses))))
    return tuple(routes)


def _route_line(t: Template, route: RouteSpec, draw, indent: str) -> list[Piece]:  # type: ignore[no-untyped-def]
    pieces: list[Piece] = [indent]
    if not route.segments:
        pieces.append("/")
    for kind, slot in route.segments:
        pieces += ["/", SlotRef(slot)] if kind == "lit" else ["/{", SlotRef(slot), "}"]
    pieces += [" -> ", *target_pieces(t, route.target), _options(route.target, draw)]
    return pieces


def _host_pieces(host: HostSpec) -> list[Piece]:
    pieces: list[Piece] = []
    if host.kind == "capture":
        pieces += ["{", SlotRef(host.capture), "}."]  # type: ignore[arg-type]
    elif host.kind == "wildcard":
        pieces.append("*.")
    for label in host.labels:
        pieces += [SlotRef(label), "."]
    pieces.append("test")
    if host.kind == "port":
        pieces.append(":8080")
    return pieces


@st.composite
def injection_templates(draw) -> Template:
    """A valid routing file whose every string-bearing position is a slot."""
    t = Template()
    uses: list[int] = []
    for _ in range(draw(st.integers(0, 2))):
        name = t.new("ident")
        target = draw(_target(t, (), []))
        t.uses[name] = target
        uses.append(name)
        t.lines.append(
            ["use ", SlotRef(name), " = ", *target_pieces(t, target), _options(target, draw)]
        )
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["exact", "port", "two", "capture", "wildcard"]))
        count = draw(st.integers(1, 2))
        capture = t.new("ident") if kind == "capture" else None
        hosts = []
        for _ in range(count):
            labels = tuple(t.new("host") for _ in range(2 if kind == "two" else 1))
            hosts.append(HostSpec(kind, labels, capture))
        host_captures = (capture,) if capture is not None else ()
        routes = draw(_routes(t, host_captures, uses))
        block = BlockSpec(tuple(hosts), routes)
        t.blocks.append(block)
        head: list[Piece] = ["host "]
        for i, host in enumerate(hosts):
            head += ([", "] if i else []) + _host_pieces(host)
        t.lines.append([*head, " {"])
        t.lines += [_route_line(t, r, draw, "    ") for r in routes]
        t.lines.append(["}"])
    if draw(st.booleans()) or not t.blocks:
        routes = draw(_routes(t, (), uses))
        written = draw(st.booleans())
        t.blocks.append(BlockSpec((), routes, written))
        if written:
            t.lines.append(["default {"])
        t.lines += [_route_line(t, r, draw, "    " if written else "") for r in routes]
        if written:
            t.lines.append(["}"])
    return t


#: Benign tails: 'b' (ASCII), or 'é' where the form of the value must have
#: the same shape as the adversarial one (an IDNA 'xn--' label).
def _tail_pieces(kind: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ORDINARY[kind]),
        st.sampled_from(NASTY),
        st.text(max_size=2),
    ).map(lambda s: s.replace("\n", "").replace("\r", ""))


@st.composite
def adversarial_values(draw, t: Template) -> list[str]:
    """A value for each slot: its marker and a tail, adversarial for a few
    slots (or all of them), ordinary for the rest."""
    everywhere = draw(st.integers(0, 3)) == 0
    values = []
    for slot in t.slots:
        if everywhere or draw(st.integers(0, 2)) == 0:
            tail = "".join(draw(st.lists(_tail_pieces(slot.kind), max_size=4)))
        else:
            tail = draw(st.sampled_from(ORDINARY[slot.kind]))
            if slot.kind in ("host", "seg") and tail in "-.":
                tail = "b"
        values.append(slot.marker + tail)
    return values
