"""Text -> parse tree. Lark's errors become diagnostics in words."""

from __future__ import annotations

import difflib
import functools
import re

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic
from ..errors import DispatchError
from ..ir import status_line
from ..source import Source, Span
from .drive import Driver
from .grammar import parser

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


@functools.cache
def driver() -> Driver | None:
    """The loaded parser's tables in one loop (front/drive.py), when lark
    builds its parser in a way that loop reproduces."""
    return Driver.of(parser())


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
    """Parse a routing file, or raise DispatchError: E004 for each line with
    a bare carriage return, else one E001 (or E003) at the first syntax error."""
    bare = _bare_carriage_returns(source)
    if bare:
        raise DispatchError(source, bare)
    text = source.text
    if not text.endswith("\n"):
        text += "\n"
    fast = driver()
    if fast is not None:
        tree = fast.parse(text)
        if tree is not None:
            return tree
    try:  # lark itself: an error, with everything lark puts in it
        return parser().parse(text)
    except UnexpectedInput as exc:
        raise DispatchError(source, [_syntax_diagnostic(source, exc)]) from None


_BARE_CR = re.compile(r"\r(?!\n)")


def _bare_carriage_returns(source: Source) -> list[Diagnostic]:
    """E004 at the first carriage return of each line that does not end it.

    Lines end at ``\\n`` (and a ``\\r`` just before it belongs to the line
    ending); a ``\\r`` anywhere else would end the line in an editor or a
    review tool and not for dispatchc, so what follows it (``# note\\r/admin
    -> status 403``) would be read differently from what a reviewer sees."""
    if _BARE_CR.search(source.text) is None:
        return []
    out = []
    lines = source.text.split("\n")
    for number, line in enumerate(lines, start=1):
        if number < len(lines):
            line = line.removesuffix("\r")
        column = line.find("\r")
        if column < 0:
            continue
        more = line.count("\r") - 1
        message = "carriage return ('\\r') not followed by a line feed ('\\n')"
        if more:
            message += f" (and {more} more on this line)"
        out.append(
            Diagnostic(
                "E004",
                message,
                Span.point(number, column + 1),
                help="editors and review tools show a line break here, dispatchc does not: "
                "remove it, or end the line with '\\n'",
            )
        )
    return out


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


def _opener(stack: list[Token]) -> tuple[Token, Token] | None:
    """The 'host' or 'default' (else the '{') of the innermost open block,
    and its '{'."""
    braces = [i for i, t in enumerate(stack) if t.type == "LBRACE"]
    if not braces:
        return None
    brace = stack[braces[-1]]
    head = next((t for t in reversed(stack[: braces[-1]]) if t.type in ("HOST", "DEFAULT")), brace)
    return head, brace


def _block_name(opener: Token) -> str:
    what = "default block" if opener.type == "DEFAULT" else "host block"
    return f"the {what} opened at {opener.line}:{opener.column}"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t\f"))


def _block_end(source: Source, opener: tuple[Token, Token], stop: int) -> int:
    """The line after which an unclosed block most likely ends, so that the
    help does not move later top-level routes into it: in a block whose
    routes are indented, its last line indented more than the ``host`` line;
    in one whose routes are not, its last route before a blank line or a
    line that is not a route (or the ``host`` line itself when a route
    follows its ``{``, as in a one-line block). Lines from ``stop`` on are
    not looked at."""
    head, brace = opener
    lines = source.text.split("\n")
    base = _indent(lines[head.line - 1])
    one_line = bool(source.line_text(brace.line)[brace.column :].partition("#")[0].strip())
    last = brace.line
    indented = None
    for number in range(brace.line + 1, min(stop, len(lines) + 1)):
        line = lines[number - 1].rstrip(" \t\f\r")
        body = line.lstrip(" \t\f")
        if not body or body.startswith("#"):
            if not body and indented is False:
                break
            continue
        if indented is None:
            indented = _indent(line) > base
            if not indented and one_line:
                break
        if (_indent(line) <= base) if indented else not body.startswith("/"):
            break
        last = number
    return last


def _unclosed(
    source: Source, opener: tuple[Token, Token], found: str, stop: int
) -> tuple[str, str]:
    return (
        f"unclosed '{{' of {_block_name(opener[0])}, found {found}",
        f"add '}}' after line {_block_end(source, opener, stop)}",
    )


def _in_context(
    source: Source, stack: list[Token], expected: set[str], token: Token | None, found: str
) -> tuple[str, str] | None:
    """A message in words for the common mistakes, and a help line.

    ``token`` is what was found (``$END`` at the end of the file, None for
    a character that starts no token), ``found`` the same in words."""
    if not stack:
        return None
    top = stack[-1]
    kind = top.type
    opener = _opener(stack)
    if opener is not None and token is not None and "RBRACE" in expected:
        if token.type == "$END":
            return _unclosed(source, opener, found, len(source.text.split("\n")) + 1)
        if token.type in ("HOST", "DEFAULT") or (
            token.type == "USE" and token.column <= opener[0].column
        ):
            return _unclosed(source, opener, found, token.line)
        if token.type == "USE":
            return (
                f"'use' inside {_block_name(opener[0])}: a use is only allowed at top level",
                "move it above the block",
            )
    if kind == "PATH" and _terminal("->") in expected:
        help_text = "a route is written PATH -> TARGET"
        if str(top).startswith(("//", "/*")):
            help_text = "a comment starts with '#'"
        return (f"expected '->' after the path '{top}', found {found}", help_text)
    if kind in (_terminal("->"), "EQUAL"):
        after = "'->'" if kind != "EQUAL" else "'='"
        return (
            f"expected a target after {after} ({_expected(expected)}), found {found}",
            "a target is module:attr, module:factory(args), a use name, "
            'status CODE or redirect CODE "URL"',
        )
    if kind == "USE":
        return (f"expected a name after 'use', found {found}", "write: use NAME = module:attr")
    if kind == "NAME" and len(stack) >= 2 and stack[-2].type == "USE":
        return (
            f"expected '=' after 'use {top}', found {found}",
            f"write: use {top} = module:attr",
        )
    if kind in ("HOST", "COMMA") and "HOST_PATTERN" in expected:
        after = "'host'" if kind == "HOST" else "','"
        return (
            f"expected a host pattern after {after}, found {found}",
            "write: host example.com { ... }",
        )
    at_line_end = token is not None and token.type == "_NL"
    if kind == "HOST_PATTERN" and at_line_end and "LBRACE" in expected:
        head = next((t for t in reversed(stack) if t.type == "HOST"), None)
        written = "host example.com"
        if head is not None and head.line == top.line:
            written = source.line_text(top.line)[head.column - 1 : top.end_column - 1]
        return (
            f"expected '{{' on the line of 'host', found {found}",
            f"the '{{' must be on the host line: {written} {{",
        )
    if kind == "STATUS":
        return (f"expected a status code after 'status', found {found}", "write: status 404")
    if (
        kind == "INT"
        and len(stack) >= 2
        and stack[-2].type == "STATUS"
        and token is not None
        and token.type == "STRING"
    ):
        return (
            f"'status {top}' takes no text, found {found}",
            f"write: status {top} (the response body is '{_status_line(top)}')",
        )
    if kind == "REDIRECT":
        return (
            f"expected a status code after 'redirect', found {found}",
            'write: redirect 301 "https://..."',
        )
    if kind == "INT" and len(stack) >= 2 and stack[-2].type == "REDIRECT":
        return (
            f"expected a URL string after 'redirect {top}', found {found}",
            'write: redirect 301 "https://..."',
        )
    if kind == "CACHE":
        return (f"expected a number after 'cache', found {found}", "write: cache 100")
    if kind == "DEFAULT":
        if at_line_end:
            return (
                f"expected '{{' on the line of 'default', found {found}",
                "the '{' must be on the default line: default {",
            )
        return (
            f"expected '{{' after 'default', found {found}",
            "write: default { / -> status 404 }",
        )
    return None


def _status_line(code: Token) -> str:
    """``410 Gone``: what a ``status`` route answers."""
    return status_line(int(code)) if len(code) <= 3 else str(code)


@functools.cache
def _options() -> frozenset[str]:
    """The terminals that start an option (``cache``, ``lazy``...)."""
    return frozenset(
        rule.expansion[0].name for rule in parser().rules if rule.origin.name == "option"
    )


def _applicable(stack: list[Token], expected: set[str]) -> set[str]:
    """``expected`` without the options when the target is a status or a
    redirect, which take none (suggesting one would lead to E308)."""
    since = next(
        (i for i in range(len(stack) - 1, -1, -1) if stack[i].type in (_terminal("->"), "EQUAL")),
        None,
    )
    if since is not None and any(t.type in ("STATUS", "REDIRECT") for t in stack[since:]):
        return expected - _options()
    return expected


def _did_you_mean(token: Token | None, expected: set[str]) -> str | None:
    """A keyword that the parser expects here and the word found is close to
    (``lazzy``, ``cahce``, ``hots``)."""
    if token is None or not str(token).isidentifier():
        return None
    words = [w[1:-1] for w in map(_describe, expected) if w[1:-1].isidentifier()]
    close = difflib.get_close_matches(str(token), words, n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _syntax_diagnostic(source: Source, exc: UnexpectedInput) -> Diagnostic:
    line, col = exc.line, exc.column
    token = None
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
    else:
        token = exc.token if isinstance(exc, UnexpectedToken) else Token("$END", "")
        if token.type == "$END":
            lines = source.text.rstrip("\r\n").split("\n")
            line, col = len(lines), len(lines[-1]) + 1
            found, width = "end of file", 1
        else:
            found = _found(token)
            width = len(str(token)) if token.type != "_NL" else 1
        expected = _accepted(exc, set(getattr(exc, "expected", ()) or ()))
        span = Span.point(line, col, width)
        char = ""
    stack = _stack(exc)
    expected = _applicable(stack, expected)
    context = _in_context(source, stack, expected, token, found)
    if context is not None:
        message, help_text = context
        return Diagnostic("E001", message, span, help=help_text)
    message = f"unexpected {found}"
    if expected:
        message += f"; expected {_expected(expected)}"
    return Diagnostic(
        "E001", message, span, help=_char_help(char) or _did_you_mean(token, expected)
    )


def _char_help(char: str) -> str | None:
    if char and char in "\u2028\u2029\u0085":
        return "remove the Unicode line separator; lines end with '\\n'"
    if char == "\x00":
        return "remove the NUL byte"
    return None
