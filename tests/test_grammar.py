"""The saved parser (dispatchc/front/tables.pickle): current, used, and the
same parser as the one built from grammar/disp.lark.

``DISPATCHC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_grammar.py``
rewrites the tables after the grammar (or lark) changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import lark
import pytest
from lark import Lark, Tree
from lark.exceptions import UnexpectedInput

from dispatchc.front import grammar
from dispatchc.front.grammar import OPTIONS, grammar_text, saved_parser, tables_key

from .helpers import ROOT, SAMPLES, UPDATE_GOLDEN

TABLES = Path(grammar.__file__).with_name(grammar.TABLES_NAME)
REGENERATE = f"{UPDATE_GOLDEN}=1 .venv/bin/python -m pytest tests/test_grammar.py"

#: Every routing file of the repository, broken ones included.
FILES = sorted(
    [*SAMPLES.glob("*.disp"), *(ROOT / "tests").rglob("*.disp"), *(ROOT / "docs").rglob("*.disp")]
)


def saved_key() -> list[str]:
    """``["lark", version, hash]``: the first line of the saved tables."""
    with TABLES.open("rb") as f:
        return f.readline().rstrip(b"\n").decode().split(" ")


def test_tables_are_made_from_the_grammar():
    if os.environ.get(UPDATE_GOLDEN) == "1":
        grammar.write_tables(TABLES)
    if not TABLES.exists():
        pytest.fail(f"{TABLES.name} is missing; write it with:\n    {REGENERATE}", pytrace=False)
    # The grammar's hash: a lark other than the one that made them (a fresh
    # install may get a newer one) only means they are not used, below.
    if saved_key()[2] != tables_key(grammar_text()).decode().split(" ")[2]:
        pytest.fail(
            f"{TABLES.name} was made from another grammar; write it again with:\n    {REGENERATE}",
            pytrace=False,
        )


def test_the_command_loads_the_saved_parser_made_by_this_lark():
    made_by = saved_key()[1]
    if made_by == lark.__version__:
        assert saved_parser(grammar_text()) is not None
    else:  # tables of another lark are never loaded: the parser is built
        assert saved_parser(grammar_text()) is None
    assert saved_parser(grammar_text() + "\n// another grammar\n") is None


def _outcome(parser: Lark, text: str) -> object:
    try:
        return parser.parse(text)
    except UnexpectedInput as exc:
        return (type(exc).__name__, exc.line, exc.column, sorted(getattr(exc, "expected", ())))


def test_the_parser_the_command_uses_parses_as_the_grammar_does():
    saved = grammar.parser()  # the saved one, when this lark made it
    built = Lark(grammar_text(), **OPTIONS)
    assert [t.name for t in saved.terminals] == [t.name for t in built.terminals]
    assert [str(r) for r in saved.rules] == [str(r) for r in built.rules]
    assert FILES
    for path in FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _outcome(saved, text) == _outcome(built, text), path


def _positions(tree: Tree) -> list[tuple[int, int, int, int]]:
    return [
        (t.meta.line, t.meta.column, t.meta.end_line, t.meta.end_column)
        for t in tree.iter_subtrees()
        if not t.meta.empty
    ]


def test_fmt_s_parser_is_the_saved_one_with_positions_and_comments():
    """fmt loads the same tables with the options lark applies at loading
    (positions on trees, comments handed to a callback), and its trees,
    positions and comments are those of a parser built with those options."""
    comments: list[str] = []
    loading = {"propagate_positions": True, "lexer_callbacks": {"COMMENT": comments.append}}
    loaded = saved_parser(grammar_text(), **loading)
    if saved_key()[1] != lark.__version__:  # tables of another lark: fmt builds its parser
        assert loaded is None
        return
    assert loaded is not None
    built_comments: list[str] = []
    built = Lark(
        grammar_text(),
        **OPTIONS,
        propagate_positions=True,
        lexer_callbacks={"COMMENT": built_comments.append},
    )
    seen = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        comments.clear()
        built_comments.clear()
        got, expected = _outcome(loaded, text), _outcome(built, text)
        assert got == expected, path
        assert comments == built_comments, path
        seen += len(comments)
        if isinstance(got, Tree) and isinstance(expected, Tree):
            assert _positions(got) == _positions(expected), path
            assert _positions(got), path
    assert seen > 0  # the files have comments
