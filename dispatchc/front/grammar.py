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


def saved_parser(text: str) -> Lark | None:
    """The parser saved beside this module, when it was made from ``text``
    with the options by the lark that is installed; else None."""
    try:
        with resources.files("dispatchc.front").joinpath(TABLES_NAME).open("rb") as f:
            if f.readline().rstrip(b"\n") != tables_key(text):
                return None
            return Lark.load(f)
    except OSError:  # no tables (sources copied without them)
        return None


@functools.cache
def parser() -> Lark:
    text = grammar_text()
    saved = saved_parser(text)
    return saved if saved is not None else Lark(text, **OPTIONS)
