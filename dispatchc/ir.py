"""The routing table as data: frozen dataclasses, each with a source span.

Spans are ``compare=False`` so two tables that say the same thing are equal
whatever their layout (``fmt`` relies on that). Precedence is data too:
``HostPattern.weight`` and ``PathPattern.weight`` sort most specific first,
as the keys of ``plan/order.py`` (the only place that sorts by them).
"""

from __future__ import annotations

import http
from dataclasses import dataclass, field
from typing import ClassVar

from .source import Span

DEFAULT_CACHE = 1024


def _span() -> Span:
    return field(compare=False, repr=False, default=Span(0, 0, 0, 0))  # type: ignore[return-value]


# -- targets ---------------------------------------------------------------
#
# Every target class has ``kind`` (its name in ``show --format json``),
# ``imports`` (whether it names a Python object that the output imports) and
# ``text`` (how the routing language writes it, options aside), so that the
# tools ask a target what it is instead of testing its class.


@dataclass(frozen=True, slots=True)
class Arg:
    """A factory argument: a capture name, or a str/int constant."""

    kind: str  # "capture" | "str" | "int"
    value: str | int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AppTarget:
    """``pkg.module:attr``: an application object (WSGI; for the ASGI target
    an ASGI one, unless ``wsgi`` says it is WSGI)."""

    kind: ClassVar[str] = "app"
    imports: ClassVar[bool] = True

    module: str
    attr: str
    lazy: bool = False
    wsgi: bool = False
    span: Span = _span()

    @property
    def ref(self) -> str:
        return f"{self.module}:{self.attr}"

    @property
    def text(self) -> str:
        return self.ref


@dataclass(frozen=True, slots=True)
class FactoryTarget:
    """``pkg.module:factory(args)``: called per distinct argument tuple."""

    kind: ClassVar[str] = "factory"
    imports: ClassVar[bool] = True

    module: str
    attr: str
    args: tuple[Arg, ...]
    cache: int = DEFAULT_CACHE
    lazy: bool = False
    wsgi: bool = False  # what it returns is a WSGI application (for the ASGI target)
    span: Span = _span()

    @property
    def ref(self) -> str:
        return f"{self.module}:{self.attr}"

    @property
    def args_text(self) -> str:
        """Its arguments as written: ``(org, "v1", 3)``."""
        return f"({', '.join(arg_text(a) for a in self.args)})"

    @property
    def text(self) -> str:
        return self.ref + self.args_text


@dataclass(frozen=True, slots=True)
class StatusTarget:
    """``status CODE``: a plain-text response."""

    kind: ClassVar[str] = "status"
    imports: ClassVar[bool] = False

    code: int
    span: Span = _span()

    @property
    def text(self) -> str:
        return f"status {self.code}"


@dataclass(frozen=True, slots=True)
class UrlPart:
    """A piece of a redirect URL: literal text, a capture, or the rest of the path."""

    kind: str  # "text" | "capture" | "path"
    value: str
    offset: int = field(default=0, compare=False)  # where it starts in the URL


@dataclass(frozen=True, slots=True)
class RedirectTarget:
    """``redirect CODE "URL"``."""

    kind: ClassVar[str] = "redirect"
    imports: ClassVar[bool] = False

    code: int
    url: str
    parts: tuple[UrlPart, ...]
    span: Span = _span()
    url_span: Span = _span()

    @property
    def text(self) -> str:
        return f"redirect {self.code} {disp_string(self.url)}"


Target = AppTarget | FactoryTarget | StatusTarget | RedirectTarget


# -- canonical text --------------------------------------------------------


def status_line(code: int) -> str:
    """``404 Not Found``: a status code with its reason phrase."""
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{code} {phrase}"


def disp_string(value: str) -> str:
    """A string as the routing language writes it (escapes ``\\"`` and ``\\\\``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arg_text(arg: Arg) -> str:
    return disp_string(str(arg.value)) if arg.kind == "str" else str(arg.value)


def options_text(target: Target) -> str:
    """The options of a target as written after it (``cache 256 lazy wsgi``),
    or "": in the canonical order, as ``fmt`` writes them."""
    out = []
    cache = getattr(target, "cache", DEFAULT_CACHE)
    if cache != DEFAULT_CACHE:
        out.append(f"cache {cache}")
    if getattr(target, "lazy", False):
        out.append("lazy")
    if isinstance(target, AppTarget | FactoryTarget) and target.wsgi:
        out.append("wsgi")
    return " ".join(out)


def target_text(target: Target, with_options: bool = True) -> str:
    """A target as the routing language writes it, with its options.

    Without them it says what the target is: two targets with equal text
    answer every request the same way (``cache`` and ``lazy`` aside)."""
    options = options_text(target) if with_options else ""
    return f"{target.text} {options}" if options else target.text


# -- patterns --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One path segment: a literal (PATH_INFO form, latin-1) or a capture."""

    literal: str | None = None
    capture: str | None = None


@dataclass(frozen=True, slots=True)
class PathPattern:
    text: str  # as written, e.g. "/orgs/{org}"
    segments: tuple[Segment, ...]
    span: Span = _span()

    weight: tuple[int, tuple[int, ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Sort key: more segments first, then literal before capture.
        kinds = tuple(0 if s.literal is not None else 1 for s in self.segments)
        object.__setattr__(self, "weight", (-len(self.segments), kinds))

    @property
    def shape(self) -> tuple[str | None, ...]:
        """Equal shapes match exactly the same paths (capture names aside)."""
        return tuple(s.literal for s in self.segments)

    @property
    def captures(self) -> tuple[str, ...]:
        return tuple(s.capture for s in self.segments if s.capture is not None)


@dataclass(frozen=True, slots=True)
class HostPattern:
    """A host pattern in ASCII (IDNA) form.

    ``kind`` is "exact", "capture" (one or more leading ``{name}`` labels) or
    "wildcard" (a leading ``*``); ``suffix`` holds the literal labels.
    """

    text: str  # normalised ASCII form, e.g. "{sub}.example.com:8080"
    kind: str
    captures: tuple[str, ...]
    suffix: tuple[str, ...]
    port: int | None = None
    span: Span = _span()

    @property
    def host(self) -> str:
        return ".".join(self.suffix)

    @property
    def weight(self) -> tuple[int, ...]:
        """Sort key, most specific first (SPEC §2)."""
        no_port = 0 if self.port is not None else 1
        if self.kind == "exact":
            return (0, 0, 0, 0, no_port)
        wildcard = 1 if self.kind == "wildcard" else 0
        return (1, -len(self.suffix), wildcard, -len(self.captures), no_port)

    @property
    def overlap_key(self) -> tuple[object, ...]:
        """Patterns with equal keys are equal in precedence and match the same hosts."""
        return (self.kind, len(self.captures), self.suffix, self.port)


# -- the table -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    path: PathPattern
    target: Target
    use: str | None = None  # the `use` name it was written with, if any
    span: Span = _span()

    @property
    def target_text(self) -> str:
        """Its target as written: the ``use`` name, or the target itself."""
        return self.use or target_text(self.target)


@dataclass(frozen=True, slots=True)
class Block:
    """A host block (``patterns`` non-empty) or the default block (empty).

    ``failed`` holds what ``lower`` left out for errors: the path of each
    route that had one (None where the path itself was invalid). Lint reads
    it so that an error does not turn into false warnings.
    """

    patterns: tuple[HostPattern, ...]
    routes: tuple[Route, ...]
    span: Span = _span()
    failed: tuple[PathPattern | None, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_default(self) -> bool:
        return not self.patterns

    @property
    def label(self) -> str:
        return "default" if self.is_default else ", ".join(p.text for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Use:
    name: str
    target: Target
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RouteTable:
    """``referenced`` and ``hosts_lost`` describe, for lint, what a table with
    errors lost: the `use` names that routes name (routes with errors
    included), and whether a host pattern was left out for an error (so a
    host may be routed to another block than its author meant)."""

    uses: tuple[Use, ...]
    blocks: tuple[Block, ...]  # host blocks (their precedence is the plan's: plan/order.py)
    default: Block | None
    referenced: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    hosts_lost: bool = field(default=False, compare=False, repr=False)

    @property
    def has_hosts(self) -> bool:
        return bool(self.blocks)

    def all_blocks(self) -> tuple[Block, ...]:
        return self.blocks + ((self.default,) if self.default is not None else ())
