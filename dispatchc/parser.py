"""Text -> parse tree. Lark's errors become diagnostics in words."""

from __future__ import annotations

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

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


def _terminal(value: str) -> str:
    """The grammar's name for a literal terminal such as '->'."""
    for term in parser().terminals:
        if term.pattern.type == "str" and term.pattern.value == value:
            return term.name
    raise LookupError(value)  # pragma: no cover - the grammar has them all


def _stack(exc: UnexpectedInput) -> list[Token]:
    """The tokens the parser has read and not yet reduced, oldest first."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is None:
        return []
    return [v for v in interactive.parser_state.value_stack if isinstance(v, Token)]


def _in_context(stack: list[Token], expected: set[str], at_end: bool) -> tuple[str, str] | None:
    """A message in words for the common mistakes, and a help line."""
    if not stack:
        return None
    top = stack[-1]
    kind = top.type
    if at_end and "RBRACE" in expected:
        braces = [i for i, t in enumerate(stack) if t.type == "LBRACE"]
        if braces:
            opener = next(
                (t for t in reversed(stack[: braces[-1]]) if t.type in ("HOST", "DEFAULT")),
                stack[braces[-1]],
            )
            what = "default block" if opener.type == "DEFAULT" else "host block"
            return (
                f"unclosed '{{' of the {what} opened at {opener.line}:{opener.column}",
                "add '}' on a line after the block's last route",
            )
    if kind == "PATH" and _terminal("->") in expected:
        return (f"expected '->' after the path '{top}'", "a route is written PATH -> TARGET")
    if kind in (_terminal("->"), "EQUAL"):
        after = "'->'" if kind != "EQUAL" else "'='"
        return (
            f"expected a target after {after} ({_expected(expected)})",
            "a target is module:attr, module:factory(args), a use name, "
            'status CODE or redirect CODE "URL"',
        )
    if kind == "USE":
        return ("expected a name after 'use'", "write: use NAME = module:attr")
    if kind == "NAME" and len(stack) >= 2 and stack[-2].type == "USE":
        return (f"expected '=' after 'use {top}'", f"write: use {top} = module:attr")
    if kind in ("HOST", "COMMA") and "HOST_PATTERN" in expected:
        after = "'host'" if kind == "HOST" else "','"
        return (f"expected a host pattern after {after}", "write: host example.com { ... }")
    if kind == "STATUS":
        return ("expected a status code after 'status'", "write: status 404")
    if kind == "REDIRECT":
        return ("expected a status code after 'redirect'", 'write: redirect 301 "https://..."')
    if kind == "INT" and len(stack) >= 2 and stack[-2].type == "REDIRECT":
        return (
            f"expected a URL string after 'redirect {top}'",
            'write: redirect 301 "https://..."',
        )
    if kind == "CACHE":
        return ("expected a number after 'cache'", "write: cache 100")
    if kind == "DEFAULT":
        return ("expected '{' after 'default'", "write: default { / -> status 404 }")
    return None


def _syntax_diagnostic(source: Source, exc: UnexpectedInput) -> Diagnostic:
    line, col = exc.line, exc.column
    if isinstance(exc, UnexpectedCharacters):
        char = source.line_text(line)[col - 1 : col] or "?"
        if char == '"' and '"' not in source.line_text(line)[col:]:
            rest = source.line_text(line)[col - 1 :]
            return Diagnostic(
                "E003",
                "unterminated string",
                Span.point(line, col, len(rest)),
                help='a string ends with " on the same line',
            )
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        found = f"character '{shown}'"
        expected = _accepted(exc, set(exc.allowed or ()))
        span = Span.point(line, col)
        at_end = False
    else:
        token = exc.token if isinstance(exc, UnexpectedToken) else None
        at_end = token is None or token.type == "$END"
        if at_end:
            lines = source.text.rstrip("\n").split("\n")
            line, col = len(lines), len(lines[-1]) + 1
            found, width = "end of file", 1
        else:
            assert token is not None
            found = _found(token)
            width = len(str(token)) if token.type != "_NL" else 1
        expected = _accepted(exc, set(getattr(exc, "expected", ()) or ()))
        span = Span.point(line, col, width)
        char = ""
    context = _in_context(_stack(exc), expected, at_end)
    if context is not None:
        message, help_text = context
        return Diagnostic("E001", f"{message}, found {found}", span, help=help_text)
    message = f"unexpected {found}"
    if expected:
        message += f"; expected {_expected(expected)}"
    return Diagnostic("E001", message, span, help=_char_help(char))


def _char_help(char: str) -> str | None:
    if char and char in "\u2028\u2029\u0085":
        return "remove the Unicode line separator; lines end with '\\n'"
    if char == "\x00":
        return "remove the NUL byte"
    return None
