"""Load the grammar (``grammar/disp.lark``) and build the parser once.

Building the parser from the grammar means parsing the grammar with lark's
own grammar and computing the LALR tables: 0.02 s, or 0.15 s when
interegular is installed (lark then checks the terminals of every lexer
for collisions, its own grammar's included), on every run of the command.
So the parser is saved beside this module (``tables.pickle``, made with
``Lark.save``) and loaded in a few milliseconds. The tables are used only
when they were made from this grammar with these options by this version
of lark; else the parser is built from the grammar. tests/test_grammar.py
checks that they are current and rewrites them with
``DISPATCHC_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import lark
import lark.exceptions
from lark import Lark

GRAMMAR_NAME = "disp.lark"
TABLES_NAME = "tables.pickle"
OPTIONS: dict[str, Any] = {"parser": "lalr", "maybe_placeholders": True}


def grammar_text() -> str:
    """The grammar: the copy shipped in the wheel, else the repository's."""
    packaged = resources.files("dispatchc").joinpath(GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    repo_copy = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return repo_copy.read_text(encoding="utf-8")


def tables_key(text: str) -> bytes:
    """The first line of the tables: the version of lark that made them and
    a hash of the options and the grammar ``text``."""
    made_of = f"{sorted(OPTIONS.items())!r}\n{text}".encode()
    return f"lark {lark.__version__} {hashlib.sha256(made_of).hexdigest()}".encode()


def write_tables(path: Path) -> None:
    """Build the parser from the grammar and save it, with its key, to ``path``."""
    text = grammar_text()
    with path.open("wb") as f:
        f.write(tables_key(text) + b"\n")
        Lark(text, **OPTIONS).save(f)


def saved_parser(text: str, **loading: Any) -> Lark | None:
    """The parser saved beside this module, when it was made from ``text``
    with the options by the lark that is installed; else None. ``loading``:
    options lark applies when it loads a parser (``propagate_positions``,
    ``lexer_callbacks``: how trees and tokens are handed over, not the
    tables), through lark's own loader."""
    try:
        with resources.files("dispatchc.front").joinpath(TABLES_NAME).open("rb") as f:
            if f.readline().rstrip(b"\n") != tables_key(text):
                return None
            if not loading:
                return Lark.load(f)
            return Lark.__new__(Lark)._load(f, **loading)
    except OSError:  # no tables (sources copied without them)
        return None
    except (AttributeError, TypeError, lark.exceptions.ConfigurationError):
        return None  # a lark that loads otherwise: build it


def parser_with(**loading: Any) -> Lark:
    """The grammar's parser with ``loading`` options (see ``saved_parser``):
    loaded from the saved tables, else built."""
    text = grammar_text()
    saved = saved_parser(text, **loading)
    return saved if saved is not None else Lark(text, **OPTIONS, **loading)


@functools.cache
def parser() -> Lark:
    return parser_with()
