"""The one-loop driver of lark's tables (dispatchc/front/drive.py) gives
lark's own trees, token for token, and leaves every error to lark."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from dispatchc.front import parser as parser_module
from dispatchc.front.drive import Driver
from dispatchc.front.grammar import parser

from .fuzz_strategies import fuzz_settings, routing_files

ROOT = Path(__file__).resolve().parent.parent


def _utf8(path: Path) -> bool:
    """Whether a file reaches the parser: one that is not UTF-8 is E002 first."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: Every routing file of the repository that reaches the parser.
CORPUS = sorted(
    p
    for p in [*ROOT.glob("samples/*.disp"), *ROOT.glob("tests/**/*.disp")]
    if "benchmarks" not in p.parts and _utf8(p)
)
#: Every ```disp block of the docs (the diagnostics' examples hold most of
#: the syntax errors), by where it is.
DOC_BLOCKS = {
    f"{doc.name}:{n}": block
    for doc in sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
    for n, block in enumerate(
        re.findall(r"^```disp\n(.*?)^```", doc.read_text(encoding="utf-8"), re.M | re.S)
    )
}
POSITIONS = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")


def shape(node: Any) -> Any:
    """A tree as nested tuples, every token with all its positions (a
    Token compares equal to another of the same text wherever it is)."""
    if isinstance(node, Tree):
        return ("tree", node.data, tuple(shape(c) for c in node.children))
    if isinstance(node, Token):
        return ("token", *(getattr(node, name) for name in POSITIONS))
    return node


def lark_tree(text: str) -> Tree | None:
    try:
        return parser().parse(text)
    except UnexpectedInput:
        return None


def driven(text: str) -> Tree | None:
    driver = Driver.of(parser())
    assert driver is not None, "the shipped grammar is one the loop drives"
    return driver.parse(text)


def both(text: str) -> tuple[Tree | None, Tree | None]:
    if not text.endswith("\n"):
        text += "\n"
    return lark_tree(text), driven(text)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_in_the_repository_reads_as_lark_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    expected, got = both(text)
    if expected is None:
        assert got is None
    else:
        assert got is not None and shape(got) == shape(expected)


@pytest.mark.parametrize("where", sorted(DOC_BLOCKS))
def test_every_example_in_the_docs_reads_as_lark_reads_it(where: str) -> None:
    expected, got = both(DOC_BLOCKS[where])
    if expected is None:
        assert got is None
    else:
        assert got is not None and shape(got) == shape(expected)


BROKEN = [
    "host a.example {\n    /x -> -> y\n}\n",  # a token no rule takes
    "host a.example {\n    /x -> app:wsgi\n",  # end of file inside a block
    "/x -> app:wsgi }\n",  # a brace nobody opened
    '/x -> redirect 301 "/a\n',  # a string that does not end
    "/x -> app:make(a b)\n",  # a missing comma
    "use = app:wsgi\n",  # a use without a name
    "/x -> status\n",  # a status without a code
    "host {\n / -> a:b\n}\n",  # a host block without a pattern
    "/x -> app:wsgi cache\n",  # an option without its number
    "\x00\n",  # text no terminal matches
    "/x -> app:wsgi /y -> app:wsgi\n",  # two routes on one line
]


@pytest.mark.parametrize("text", BROKEN)
def test_a_file_lark_refuses_is_left_to_lark(text: str) -> None:
    assert both(text) == (None, None)


def test_the_examples_hold_many_valid_files() -> None:
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in CORPUS]
    results = [both(text)[0] for text in [*texts, *DOC_BLOCKS.values()]]
    assert sum(r is not None for r in results) >= 150


@fuzz_settings(400)
@given(routing_files())
def test_random_files_read_as_lark_reads_them(raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    expected, got = both(text)
    if expected is None:
        assert got is None, "lark refuses this file: the loop must leave it to lark"
    else:
        assert got is not None, "a file lark reads must not need lark"
        assert shape(got) == shape(expected)


def test_positions_cover_lines_keywords_comments_and_crlf() -> None:
    text = (
        "# top\r\nuse web = app:wsgi lazy\r\n\r\nhost {t}.example.com, a.b {  # c\n"
        '    /x/{y} -> f:make(t, "s\\"q", 3) cache 2\n  /r -> redirect 301 "/{path}"\n'
        "}\ndefault { / -> status 404 }\n/use -> web\n"
    )
    expected, got = both(text)
    assert expected is not None and got is not None
    assert shape(got) == shape(expected)
    kinds = {t.type for t in got.scan_values(lambda v: isinstance(v, Token))}
    assert {"USE", "HOST", "DEFAULT", "STATUS", "REDIRECT", "CACHE", "LAZY"} <= kinds


def test_errors_are_lark_s_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A syntax error is lark's exception, raised by lark: the loop hands
    the file over, and the diagnostic is the one lark's error gives."""
    from dispatchc.errors import DispatchError
    from dispatchc.source import Source

    text = "host a.example {\n    /x -> -> y\n}\n"
    source = Source("r.disp", text, text.encode())
    assert driven(text) is None
    with pytest.raises(DispatchError) as caught:
        parser_module.parse(source)
    (diag,) = caught.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("E001", 2, 11)


def test_parse_uses_the_loop_for_valid_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid files never reach lark's own parse (that is the point)."""
    from dispatchc.source import Source

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("lark's parse called for a valid file")

    monkeypatch.setattr(type(parser()), "parse", refuse)
    text = "/ -> app:wsgi\n"
    tree = parser_module.parse(Source("r.disp", text, text.encode()))
    assert tree.data == "start"


def test_a_parser_built_otherwise_is_left_to_lark() -> None:
    """A lexer callback (fmt's parser hands comments to one) is not
    something the loop reproduces: it declines, and lark parses."""
    from dispatchc.front.grammar import parser_with

    seen: list[Token] = []
    assert Driver.of(parser_with(lexer_callbacks={"COMMENT": seen.append})) is None
    assert Driver.of(parser_with(propagate_positions=True)) is not None
