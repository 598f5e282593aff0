"""Load the grammar (``grammar/disp.lark``) and build the parser once."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark

GRAMMAR_NAME = "disp.lark"


def grammar_text() -> str:
    """The grammar: the copy shipped in the wheel, else the repository's."""
    packaged = resources.files("dispatchc").joinpath(GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    repo_copy = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return repo_copy.read_text(encoding="utf-8")


@functools.cache
def parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        maybe_placeholders=True,
    )
