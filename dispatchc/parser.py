"""Text -> parse tree. Lark's errors become diagnostics in words."""

from __future__ import annotations

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .diagnostics import Diagnostic
from .errors import DispatchError
from .grammar import parser
from .source import Source, Span

#: How each terminal is named in a message.
_WORDS = {
    "_NL": "end of line",
    "$END": "end of file",
    "NAME": "a name",
    "PATH": "a path starting with '/'",
    "IMPORT_REF": "a target such as module:attr",
    "HOST_PATTERN": "a host pattern",
    "INT": "a number",
    "STRING": 'a string ("...")',
}


def _describe(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    for term in parser().terminals:
        if term.name == terminal and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return terminal


def _expected(names: set[str]) -> str:
    words = sorted({_describe(n) for n in names})
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _found(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    return f"'{token}'"


def decode(path: str, raw: bytes) -> Source:
    """Decode a routing file; invalid UTF-8 is an E002 diagnostic."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        shown = Source(path, raw.decode("utf-8", "replace"), raw)
        diag = Diagnostic(
            "E002",
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            Span.point(line, col),
            help="save the routing file as UTF-8",
        )
        raise DispatchError(shown, [diag]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return Source(path, text, raw)


def parse(source: Source) -> Tree:
    """Parse a routing file, or raise DispatchError with one E001."""
    text = source.text
    if not text.endswith("\n"):
        text += "\n"
    try:
        return parser().parse(text)
    except UnexpectedInput as exc:
        raise DispatchError(source, [_syntax_diagnostic(source, exc)]) from None


def _accepted(exc: UnexpectedInput, fallback: set[str]) -> set[str]:
    """What the parser would accept here (keywords included, which the
    contextual lexer's own sets leave out)."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except Exception:  # pragma: no cover - lark internals; fall back
            pass
    return fallback


def _syntax_diagnostic(source: Source, exc: UnexpectedInput) -> Diagnostic:
    line, col = exc.line, exc.column
    if isinstance(exc, UnexpectedCharacters):
        char = source.line_text(line)[col - 1 : col] or "?"
        if char == '"':
            rest = source.line_text(line)[col - 1 :]
            return Diagnostic(
                "E003",
                "unterminated string",
                Span.point(line, col, len(rest)),
                help='a string ends with " on the same line',
            )
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        message = f"unexpected character '{shown}'"
        allowed = _accepted(exc, set(exc.allowed or ()))
        if allowed:
            message += f"; expected {_expected(allowed)}"
        return Diagnostic("E001", message, Span.point(line, col), help=_char_help(char))
    if isinstance(exc, UnexpectedEOF):
        lines = source.text.split("\n")
        line = len(lines)
        col = len(lines[-1]) + 1
        message = f"unexpected end of file; expected {_expected(_accepted(exc, set(exc.expected)))}"
        return Diagnostic("E001", message, Span.point(line, col), help=_eof_help(exc))
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    if token.type in ("$END",):
        lines = source.text.rstrip("\n").split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    width = len(str(token)) if token.type not in ("_NL", "$END") else 1
    expected = _accepted(exc, set(exc.expected))
    message = f"unexpected {_found(token)}; expected {_expected(expected)}"
    help_text = None
    if "RBRACE" in expected and token.type == "$END":
        help_text = "a block is not closed: add '}'"
    elif token.type == "_NL" and "__ANON_0" in expected:
        help_text = "a route is written PATH -> TARGET"
    return Diagnostic("E001", message, Span.point(line, col, width), help=help_text)


def _char_help(char: str) -> str | None:
    if char in "\u2028\u2029\u0085":
        return "remove the Unicode line separator; lines end with '\\n'"
    if char == "\x00":
        return "remove the NUL byte"
    return None


def _eof_help(exc: UnexpectedEOF) -> str | None:
    if "RBRACE" in exc.expected:
        return "a block is not closed: add '}'"
    return None
