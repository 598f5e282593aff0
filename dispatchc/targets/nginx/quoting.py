"""The one way text reaches an nginx configuration: the counterpart of repr().

Every string taken from a routing file or an upstreams file is written by
``quote``: always double-quoted, ``\\`` as ``\\\\`` and ``"`` as ``\\"``
(nginx reads both back; every other backslash sequence it keeps as it is,
so doubling every backslash is exact), and a character nginx cannot carry
verbatim (a control character, or anything ``str.isprintable`` refuses) is
refused with ``Unquotable``. No text can end the string, a directive or a
block, whatever it holds.

nginx expands ``$name`` and ``${name}`` in some arguments and not in
others, and has no escape for ``$``: in an argument it expands
(``interpolated=True``: ``return``'s text, a ``rewrite`` replacement), a
literal ``$`` is written ``${dc_dollar}``, a variable the configuration
defines as "$" (``DOLLAR_DEFINITION``). In one it does not expand (a
``location`` string, a regular expression, a ``server_name``, an address),
``$`` is already literal and stays as it is. The configuration's own
variables are joined in as ``Var`` pieces, and only where they expand.

Regular expressions are built by ``regex_literal`` (text from the file,
matched literally) and the emitter's own syntax, then quoted without
interpolation.
"""

from __future__ import annotations

import re

#: The variable that holds a literal "$" (nginx has no escape for it).
DOLLAR = "dc_dollar"
DOLLAR_DEFINITION = 'geo $dc_dollar {\n    default "$";\n}'

_NAME = re.compile(r"[a-z_][a-z0-9_]*|[1-9]")


class Unquotable(ValueError):
    """Text that nginx cannot carry verbatim: ``char`` is the first such character."""

    def __init__(self, text: str, char: str):
        super().__init__(f"{char!r} cannot be written in an nginx configuration")
        self.text = text
        self.char = char


class Var(str):
    """A variable of the configuration itself (``Var("args")`` is ``${args}``,
    ``Var("1")`` the first capture of a regular expression, ``$1``), never
    text from a file."""

    def __new__(cls, name: str) -> Var:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a variable name: {name!r}")
        return super().__new__(cls, name)


class _Escape(str):
    """One of nginx's own escapes inside a quoted string, written as it is."""


#: A line feed in a response body (nginx reads ``\n`` in a quoted string).
NEWLINE = _Escape("\\n")


def check(text: str) -> None:
    """Raise Unquotable if ``text`` holds a character nginx cannot carry."""
    if not text.isprintable():
        raise Unquotable(text, next(c for c in text if not c.isprintable()))


def quote(*pieces: str, interpolated: bool = False) -> str:
    """The pieces as one double-quoted nginx string (see the module's doc)."""
    out = ['"']
    for piece in pieces:
        if isinstance(piece, _Escape):
            out.append(piece)
            continue
        if isinstance(piece, Var):
            if not interpolated:
                raise ValueError("a variable in an argument that nginx does not expand")
            out.append("$" + piece if piece.isdigit() else "${" + piece + "}")
            continue
        check(piece)
        text = piece.replace("\\", "\\\\").replace('"', '\\"')
        if interpolated:
            text = text.replace("$", "${" + DOLLAR + "}")
        out.append(text)
    out.append('"')
    return "".join(out)


def uses_dollar(text: str) -> bool:
    """Whether configuration text refers to ``${dc_dollar}``."""
    return "${" + DOLLAR + "}" in text


_PCRE_PLAIN = re.compile(r"[A-Za-z0-9_/\-]|[^\x00-\x7f]")


def regex_literal(text: str) -> str:
    """``text`` matched literally by a PCRE regular expression: letters,
    digits, ``_``, ``-``, ``/`` and non-ASCII characters (their bytes) as
    they are, ``\\ ^ [ ]`` escaped with a backslash, any other ASCII
    character in a class of its own (``[.]``: literal in PCRE, and read
    right by gixy-ng, which misreads backslashes inside quotes)."""
    check(text)
    return "".join(
        c if _PCRE_PLAIN.fullmatch(c) else "\\" + c if c in "\\^[]" else f"[{c}]" for c in text
    )
