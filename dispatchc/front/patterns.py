"""Validate and normalise host patterns, path patterns and redirect URLs.

Each function takes the text as written and returns the IR value, or raises
``PatternError`` with a message and the offset of the offending character.
"""

from __future__ import annotations

import functools
import ipaddress
import keyword
import re
import string
from dataclasses import replace

from ..ir import HostPattern, PathPattern, Segment, UrlPart
from ..source import Span

HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-_")
MAX_HOST = 253


class PatternError(ValueError):
    def __init__(
        self,
        message: str,
        offset: int = 0,
        width: int = 1,
        help: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset
        self.width = width
        self.help = help


def is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


@functools.lru_cache(maxsize=4096)
def is_dotted(name: str) -> bool:
    """Cached: a file names the same modules and attributes many times."""
    return all(is_identifier(part) for part in name.split("."))


def _capture_name(label: str, offset: int) -> str:
    name = label[1:-1]
    if keyword.iskeyword(name):
        raise PatternError(
            f"capture name '{name}' is a Python keyword",
            offset,
            len(label),
            help=f"choose another name, e.g. {{{name}_}}",
        )
    if not is_identifier(name):
        raise PatternError(
            f"capture name '{name}' is not a Python identifier",
            offset,
            len(label),
            help="a capture is written {name} with a Python identifier that is not a keyword",
        )
    return name


def _ascii_label(label: str, offset: int) -> str:
    """A literal host label in lower-case IDNA form (as werkzeug does)."""
    if label.isascii():
        ascii_label = label.lower()
    else:
        try:
            ascii_label = label.encode("idna").decode("ascii")
        except UnicodeError:
            raise PatternError(
                f"label '{label}' cannot be encoded with IDNA", offset, len(label)
            ) from None
    bad = next((c for c in ascii_label if c not in HOST_CHARS), None)
    if bad is not None:
        where = offset + label.lower().find(bad) if bad in label.lower() else offset
        raise PatternError(
            f"invalid character {bad!r} in host label '{label}'",
            where,
            help="host labels hold letters, digits, '-' and '_'",
        )
    return ascii_label


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise PatternError("unclosed '[' in IPv6 host pattern", 0, len(text))
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise PatternError("unexpected text after ']'", end + 1, len(rest))
        port_text, port_at = rest[1:], end + 2
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            return text, None
        port_at = len(host) + 1
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5) or not (
        1 <= int(port_text) <= 65535
    ):
        raise PatternError(
            f"invalid port '{port_text}'", port_at, len(port_text) or 1, help="a port is 1-65535"
        )
    return host, int(port_text)


#: A name of lower-case ASCII labels (no port): the usual host pattern, which
#: is its own normal form (``parse_host`` needs none of its checks for it).
_PLAIN_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


def parse_host(text: str, span: Span | None = None) -> HostPattern:
    """The pattern of a host pattern (``span``: where it is written)."""
    if len(text) <= MAX_HOST and _PLAIN_HOST.fullmatch(text):
        suffix = tuple(text.split("."))
        if span is None:
            return HostPattern(text, "exact", (), suffix)
        return HostPattern(text, "exact", (), suffix, None, span)
    pattern = _parse_host(text)
    return pattern if span is None else replace(pattern, span=span)


def _parse_host(text: str) -> HostPattern:
    host, port = _split_port(text)
    port_suffix = "" if port is None else f":{port}"
    if host.startswith("["):
        inner = host[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise PatternError(f"invalid IPv6 address '{inner}'", 1, len(inner) or 1) from None
        if "%" in inner:
            raise PatternError("IPv6 zone identifiers are not supported", 1, len(inner))
        norm = host.lower()
        return HostPattern(norm + port_suffix, "exact", (), (norm,), port)
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    labels = host.split(".")
    offsets = []
    at = 0
    for label in labels:
        offsets.append(at)
        at += len(label) + 1
    captures: list[str] = []
    wildcard = False
    suffix: list[str] = []
    for i, (label, off) in enumerate(zip(labels, offsets, strict=True)):
        if not label:
            raise PatternError("empty label in host pattern", max(off - 1, 0), 1)
        if label == "*":
            if i != 0:
                raise PatternError(
                    "'*' is only allowed as the first label", off, 1, help="write *.example.com"
                )
            wildcard = True
        elif label.startswith("{") and label.endswith("}") and len(label) >= 2:
            if suffix or wildcard:
                raise PatternError(
                    "captures are only allowed before the literal labels",
                    off,
                    len(label),
                    help="write {name}.example.com",
                )
            name = _capture_name(label, off)
            if name in captures:
                raise PatternError(f"capture '{name}' appears twice", off, len(label), code="E304")
            captures.append(name)
        elif "{" in label or "}" in label or "*" in label:
            raise PatternError(
                f"invalid label '{label}'",
                off,
                len(label),
                help="a capture or '*' must be a whole label",
            )
        else:
            suffix.append(_ascii_label(label, off))
    if not suffix:
        raise PatternError(
            "a host pattern needs at least one literal label",
            0,
            len(text),
            help="use a default { } block to match any host",
        )
    ascii_host = ".".join(suffix)
    if len(ascii_host) > MAX_HOST:
        raise PatternError(f"host is longer than {MAX_HOST} characters", 0, len(text))
    if wildcard:
        return HostPattern(f"*.{ascii_host}{port_suffix}", "wildcard", (), tuple(suffix), port)
    if captures:
        head = ".".join("{" + c + "}" for c in captures)
        return HostPattern(
            f"{head}.{ascii_host}{port_suffix}", "capture", tuple(captures), tuple(suffix), port
        )
    return HostPattern(ascii_host + port_suffix, "exact", (), tuple(suffix), port)


def path_info_form(literal: str) -> str:
    """How a server puts this text in PATH_INFO: UTF-8 bytes decoded as latin-1."""
    return literal.encode("utf-8").decode("latin-1")


#: What a literal path segment cannot hold (a capture is a whole segment).
_NOT_IN_SEGMENT = re.compile(r"[{}\s]")


def parse_path(text: str, span: Span | None = None) -> PathPattern:
    """The pattern of a path (``span``: where it is written)."""
    segments = _segments(text)
    if span is None:
        return PathPattern(text, segments)
    return PathPattern(text, segments, span)


@functools.lru_cache(maxsize=4096)
def _segments(text: str) -> tuple[Segment, ...]:
    """The segments of a path pattern. Cached: host blocks often repeat the
    same paths (``/``, ``/static``), and a file may have thousands of them."""
    if not text.startswith("/"):
        raise PatternError("a path pattern starts with '/'", 0, len(text))
    if text == "/":
        return ()
    if text.endswith("/"):
        raise PatternError(
            "trailing '/' in path pattern",
            len(text) - 1,
            help=f"write {text.rstrip('/')!r}: it also matches paths below it",
        )
    segments: list[Segment] = []
    names: list[str] = []
    at = 1
    for raw in text[1:].split("/"):
        if not raw:
            raise PatternError("empty segment in path pattern", at - 1, 2)
        if raw.startswith("{") and raw.endswith("}") and len(raw) >= 2:
            name = _capture_name(raw, at)
            if name in names:
                raise PatternError(
                    f"capture '{name}' appears twice in the path", at, len(raw), code="E304"
                )
            names.append(name)
            segments.append(Segment(capture=name))
        else:
            found = _NOT_IN_SEGMENT.search(raw)
            bad = None if found is None else found.start()
            if bad is not None or not raw.isprintable():
                if bad is None:
                    bad = next(i for i, c in enumerate(raw) if not c.isprintable())
                raise PatternError(
                    f"invalid character {raw[bad]!r} in path segment '{raw}'",
                    at + bad,
                    help="a capture must be a whole segment: /{name}",
                )
            segments.append(Segment(literal=path_info_form(raw)))
        at += len(raw) + 1
    return tuple(segments)


_URL_SAFE = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


def parse_url(text: str) -> tuple[UrlPart, ...]:
    """Split a redirect URL into text, ``{capture}`` and ``{path}`` parts.

    Non-ASCII text is percent-encoded as UTF-8 (as werkzeug's ``iri_to_uri``);
    control characters and spaces are rejected.
    """
    parts: list[UrlPart] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            if text.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = text.find("}", i)
            if end < 0:
                raise PatternError(
                    "unclosed '{' in redirect URL", i, help="write '{{' for a literal '{'"
                )
            name = text[i + 1 : end]
            if not is_identifier(name):
                raise PatternError(
                    f"'{{{name}}}' is not a capture name",
                    i,
                    end - i + 1,
                    help="write '{{' and '}}' for literal braces",
                )
            if buf:
                parts.append(UrlPart("text", "".join(buf)))
                buf = []
            parts.append(UrlPart("path" if name == "path" else "capture", name, i))
            i = end + 1
            continue
        if c == "}":
            if text.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise PatternError("single '}' in redirect URL", i, help="write '}}' for a literal '}'")
        if c in _URL_SAFE:
            buf.append(c)
        elif c.isascii() or not c.isprintable():
            raise PatternError(
                f"character {c!r} is not allowed in a redirect URL",
                i,
                help="percent-encode it (a space is %20)",
            )
        else:
            buf.append("".join(f"%{b:02X}" for b in c.encode("utf-8")))
        i += 1
    if buf:
        parts.append(UrlPart("text", "".join(buf)))
    if parts and parts[0].kind == "text" and parts[0].value.startswith("//"):
        raise PatternError(
            "a redirect URL cannot start with '//'",
            0,
            2,
            help="write the scheme for another host (https://example.com/...), "
            "or one '/' for a path on this host",
        )
    return tuple(parts)


# -- where a redirect can send a client (SPEC §1) -----------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def root_relative(parts: tuple[UrlPart, ...]) -> bool:
    """A URL that starts with '/' or ``{path}``: a path on the request's host.

    Its Location is made safe at run time (``collapse_slashes``)."""
    if not parts:
        return False
    first = parts[0]
    return first.kind == "path" or (first.kind == "text" and first.value.startswith("/"))


def may_start_with_two_slashes(parts: tuple[UrlPart, ...]) -> bool:
    """Whether a root-relative URL's Location can start with '//' or '/\\'
    at run time: its first two characters are not both written in the file
    (a literal '//' is E307)."""
    if not root_relative(parts):
        return False
    first = parts[0]
    return first.kind != "text" or (len(first.value) < 2 and len(parts) > 1)


def collapse_slashes(location: str) -> str:
    """A root-relative Location with its leading run of '/' and '\\' made
    one '/', so that it cannot name another host (``//evil.example``)."""
    if location.startswith(("//", "/\\")):
        return "/" + location.lstrip("/\\")
    return location


def path_value(path_info: str) -> str:
    """What ``{path}`` stands for: PATH_INFO, which is empty or starts with
    '/' (PEP 3333); any other value gets a '/' in front, so that ``{path}``
    always ends a host written before it."""
    if path_info[:1] != "/" and path_info:
        return "/" + path_info
    return path_info


def redirect_host_part(
    parts: tuple[UrlPart, ...], host_captures: set[str]
) -> tuple[UrlPart, str, str] | None:
    """The first capture or ``{path}`` through which a request could choose
    the scheme or host of a redirect, with a message and a help; None when
    the URL is safe (E311).

    ``host_captures`` are the route's host captures (they hold only
    ``a-z 0-9 - _``); every other capture is a path capture (any text).

    - A URL that starts with '/' or ``{path}`` is a path on the request's
      host: safe whatever it substitutes (a leading '//' is collapsed).
    - After a scheme (``https:``) and the slashes that follow it, the
      authority runs to the first '/', '?' or '#'. Host captures may appear
      in it; a path capture may not. ``{path}``, which is empty or starts
      with '/', ends it, once something of the host comes before it.
    - Any other URL is relative to the request's URL; its first segment
      (before the first '/', '?' or '#') could become a scheme, so it takes
      no capture at all.
    """
    if not parts or root_relative(parts):
        return None
    first = parts[0]
    scheme = _SCHEME.match(first.value) if first.kind == "text" else None
    written = False  # something of the authority, or of the first segment, so far
    for index, part in enumerate(parts):
        name = "{" + part.value + "}"
        if part.kind == "text":
            text = part.value
            if index == 0 and scheme is not None:
                text = text[scheme.end() :].lstrip("/")
            if any(c in text for c in "/?#"):
                return None
            written = written or bool(text)
        elif part.kind == "path":
            if written:
                return None
            return (
                part,
                f"'{name}' can set the host of the redirect: no host is written before it",
                f"write the host before it (https://example.com{name}), "
                f"or start the URL with it for a path on this host",
            )
        elif scheme is None:
            return (
                part,
                f"'{name}' at the start of the redirect URL can set its scheme or host",
                f"start the URL with '/' for a path on this host (/{name}), "
                f"or with a scheme and host (https://example.com/{name})",
            )
        elif part.value in host_captures:
            written = True
        else:
            return (
                part,
                f"path capture '{name}' can set the host of the redirect",
                f"write the whole host before it (https://example.com/{name}); "
                "a path capture may hold '@', ':' and '.'",
            )
    return None
