"""``dispatchc fmt`` (dispatchc/fmt.py): canonical layout, stable, equivalent.

Like black's tests: every golden case in ``tests/fmt_cases/<name>.disp``
holds an input, a line ``# output``, then the expected output. Every input
the tests see (golden cases, samples, ``tests/cases``, Hypothesis-generated
files) must also be

- stable: ``fmt(fmt(x)) == fmt(x)``;
- equivalent: ``x`` and ``fmt(x)`` have equal parse trees (the same tokens
  in the same structure, so the same IR, positions aside) and the same
  diagnostics, and carry the same comments.

Hypothesis builds files in two ways: the valid tables of
``tests/strategies.py`` and "wild" files that parse but need not lower
cleanly (undefined names, duplicate routes, bad codes). Either is printed
from its parse tree with random whitespace, tabs, CRLF, one-line blocks,
blank lines and comments (``scrambled``) before it is formatted.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree

from dispatchc.cli import main
from dispatchc.compiler import analyse
from dispatchc.errors import DispatchError, UsageError
from dispatchc.front.grammar import grammar_text
from dispatchc.front.parser import parse
from dispatchc.source import Source
from dispatchc.tools.fmt import format_text, run

from .conftest import ROOT, SAMPLES
from .strategies import tables

CASES_DIR = Path(__file__).resolve().parent / "fmt_cases"
GOLDEN = sorted(CASES_DIR.glob("*.disp"))
SAMPLE_FILES = sorted(SAMPLES.glob("*.disp"))
COMPILER_CASES = sorted((ROOT / "tests" / "targets").glob("*/cases/*/routes.disp"))
OUTPUT_MARK = re.compile(r"^# output\r?\n", re.MULTILINE)


def read_case(path: Path) -> tuple[str, str]:
    """A golden case: (input, expected output), split at ``# output``."""
    text = path.read_bytes().decode("utf-8")
    source, expected = OUTPUT_MARK.split(text, maxsplit=1)
    return source, expected


# -- the two guarantees --------------------------------------------------------


@functools.cache
def _comment_lark() -> tuple[Lark, list[Token]]:
    found: list[Token] = []
    lark = Lark(
        grammar_text(),
        parser="lalr",
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": found.append},
    )
    return lark, found


def comments_of(text: str) -> Counter[str]:
    """The comments of a file, without trailing whitespace (a multiset)."""
    lark, found = _comment_lark()
    found.clear()
    lark.parse(text.removeprefix("\ufeff") + "\n")
    texts = Counter(str(c).rstrip() for c in found)
    found.clear()
    return texts


def tree_of(text: str) -> Tree:
    return parse(Source("routes.disp", text.removeprefix("\ufeff")))


def assert_equivalent(before: str, after: str) -> None:
    """Same tokens in the same structure, same IR, same diagnostics, same comments."""
    assert tree_of(after) == tree_of(before)  # Tree equality ignores positions
    old = analyse("routes.disp", before.encode("utf-8"))
    new = analyse("routes.disp", after.encode("utf-8"))
    assert new.table == old.table  # spans are compare=False in the IR
    assert [d.code for d in new.diagnostics] == [d.code for d in old.diagnostics]
    assert comments_of(after) == comments_of(before)


def assert_canonical(text: str) -> str:
    """Format ``text``; check the result is stable, equivalent and tidy."""
    out = format_text(text)
    assert format_text(out) == out, "not stable"
    assert_equivalent(text, out)
    assert "\r\n" not in out
    if out:
        assert out.endswith("\n") and not out.endswith("\n\n")
        assert not out.startswith("\n")
    assert "\n\n\n" not in out
    assert all(line == line.rstrip() for line in out.split("\n"))
    assert "\t" not in "".join(line[: len(line) - len(line.lstrip())] for line in out.split("\n"))
    return out


# -- golden cases ----------------------------------------------------------------


def test_golden_cases_exist():
    names = {p.stem for p in GOLDEN}
    assert {"spacing", "one_line_blocks", "comments", "alignment", "crlf", "tabs"} <= names


@pytest.mark.parametrize("case", GOLDEN, ids=lambda p: p.stem)
def test_golden(case: Path):
    source, expected = read_case(case)
    assert format_text(source) == expected
    assert format_text(expected) == expected
    assert_canonical(source)


def test_crlf_case_really_has_crlf():
    source, expected = read_case(CASES_DIR / "crlf.disp")
    assert source.count("\r\n") == source.count("\n") > 3
    assert "\r" not in expected


def test_tabs_case_really_has_tabs():
    source, _ = read_case(CASES_DIR / "tabs.disp")
    assert "\t/" in source and "\t->\t" in source


# -- samples and compiler cases --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    SAMPLE_FILES + COMPILER_CASES,
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_stable_and_equivalent_on_files(path: Path):
    assert_canonical(path.read_text(encoding="utf-8"))


def test_minimal_case_is_canonical():
    text = (ROOT / "tests/targets/wsgi/cases/minimal/routes.disp").read_text(encoding="utf-8")
    assert format_text(text) == text


# -- particular behaviour --------------------------------------------------------


def test_no_final_newline_gets_one():
    assert format_text("/ -> app:a  # end") == "/ -> app:a  # end\n"
    assert format_text("host x { / -> app:a }") == "host x {\n    / -> app:a\n}\n"


def test_empty_and_comment_only_files():
    assert format_text("") == ""
    assert format_text("\n\n  \t\n") == ""
    assert format_text("\n# only\n\n\n# comments  \n\n") == "# only\n\n# comments\n"


def test_byte_order_mark_is_dropped():
    assert format_text("\ufeff/ -> app:a\n") == "/ -> app:a\n"


def test_form_feed_is_inline_whitespace():
    assert format_text("/\f->\fapp:a\n") == "/ -> app:a\n"


def test_a_lone_cr_is_not_formatted_away():
    # SPEC §1: a carriage return that does not end a line is an error (E004);
    # fmt must not turn it into a space (or keep it hidden in a comment).
    for text in ["/\r-> app:a\n", "/ -> app:a\n# note\r/admin -> status 403\n"]:
        with pytest.raises(DispatchError) as info:
            format_text(text)
        assert [d.code for d in info.value.diagnostics] == ["E004"]


def test_comment_text_is_verbatim():
    text = '#!\t#  x -> y { } "unclosed\n/ -> app:a #\u00e9\u65e5\t\n'
    assert format_text(text) == '#!\t#  x -> y { } "unclosed\n/ -> app:a  #\u00e9\u65e5\n'


def test_hash_inside_string_is_not_a_comment():
    text = '/ -> redirect 301 "/a#b"  # real\n'
    assert format_text(text) == text


def test_strings_and_numbers_are_kept_as_written():
    text = '/{x} -> m:f(x, "\\\\", "\\"", 007, -0) cache 0016\n/s -> status 0404\n'
    out = format_text(text)
    assert '"\\\\", "\\"", 007, -0) cache 0016' in out
    assert "status 0404" in out


def test_blank_line_goes_above_comments_attached_to_a_block():
    text = "use a = m:a\n# about x\n# more\nhost x {\n/ -> a\n}\n# after\n/b -> a\n"
    assert format_text(text) == (
        "use a = m:a\n\n# about x\n# more\nhost x {\n    / -> a\n}\n\n# after\n/b -> a\n"
    )


def test_file_starting_with_a_block_comment_gets_no_leading_blank():
    assert format_text("# x\nhost x {\n}\n") == "# x\nhost x {\n}\n"


def test_comment_on_header_line_of_one_line_block_moves_after_brace():
    # The comment is after "}" in the source, so it stays after "}".
    assert format_text("default { / -> app:a }  # c\n") == "default {\n    / -> app:a\n}  # c\n"


def test_syntax_error_raises_the_compilers_diagnostic():
    with pytest.raises(DispatchError) as info:
        format_text("/ app:a\n", path="bad.disp")
    (diag,) = info.value.diagnostics
    assert diag.code == "E001"
    assert (diag.span.line, diag.span.column) == (1, 3)
    assert info.value.render().startswith("bad.disp:1:3: error[E001]: expected '->'")
    assert "^" in info.value.render()


def test_unclosed_block_is_a_syntax_error():
    with pytest.raises(DispatchError) as info:
        format_text("host x {\n    / -> app:a\n")
    assert info.value.diagnostics[0].code == "E001"
    assert "unclosed" in info.value.diagnostics[0].message


def test_semantic_errors_do_not_stop_fmt():
    text = "/ -> nowhere\n/ -> status 999\nuse status_name = other\n"
    assert not analyse("r.disp", text.encode()).ok
    assert format_text(text) == "/ -> nowhere\n/ -> status 999\nuse status_name = other\n"


# -- Hypothesis: random layouts of random files ----------------------------------

INLINE = (" ", " ", " ", "  ", "\t", " \t ", "\f", "   ")
NO_SPACE = ("",) * 2 + INLINE  # where tokens may touch
COMMENT_TEXT = st.text(alphabet=st.sampled_from(list('ab #{}->=,()"\\/\t é日')), max_size=12)


class Scrambler:
    """Print a parse tree with random layout: same tokens, same structure."""

    def __init__(self, draw, comments: bool = True, blanks: bool = True):
        self.draw = draw
        self.comments = comments
        self.blanks = blanks
        self.newline = draw(st.sampled_from(("\n", "\r\n", "mixed")))

    def ws(self, touching: bool = False) -> str:
        return self.draw(st.sampled_from(NO_SPACE if touching else INLINE))

    def nl(self) -> str:
        if self.newline == "mixed":
            return self.draw(st.sampled_from(("\n", "\r\n")))
        return self.newline

    def comment(self) -> str:
        return "#" + self.draw(COMMENT_TEXT)

    def eol(self) -> str:
        """End a line: maybe trailing spaces, maybe a comment."""
        end = self.draw(st.sampled_from(("", "", "", " ", "\t")))
        if self.comments and self.draw(st.integers(0, 3)) == 0:
            end = self.ws() + self.comment()
        return end + self.nl()

    def filler(self) -> str:
        """Blank lines and comment lines between statements."""
        out = []
        for kind in self.draw(st.lists(st.sampled_from(("blank", "comment")), max_size=2)):
            indent = self.draw(st.sampled_from(("", "", "    ", "\t", "  ")))
            if kind == "blank" and self.blanks:
                out.append(indent + self.nl())
            elif kind == "comment" and self.comments:
                out.append(indent + self.comment() + self.nl())
        return "".join(out)

    def indent(self) -> str:
        return self.draw(st.sampled_from(("", "    ", "    ", "\t", "  ", "        ")))

    # -- statements

    def target(self, node: Tree) -> str:
        kind, kids = node.data, node.children
        if kind in ("import_target", "name_target"):
            return str(kids[0])
        if kind == "status_target":
            return "status" + self.ws() + str(kids[1])
        if kind == "redirect_target":
            return "redirect" + self.ws() + str(kids[1]) + self.ws() + str(kids[2])
        args = [str(a.children[0]) for a in kids[1:-1] if a is not None]
        sep = [self.ws(True) + "," + self.ws(True) for _ in args[1:]]
        inner = args[0] if args else ""
        for s, a in zip(sep, args[1:], strict=True):
            inner += s + a
        return str(kids[0]) + self.ws(True) + "(" + self.ws(True) + inner + self.ws(True) + ")"

    def options(self, nodes: list[Tree]) -> str:
        out = ""
        for node in nodes:
            if node.data == "cache_option":
                out += self.ws() + "cache" + self.ws() + str(node.children[1])
            else:
                out += self.ws() + "lazy"
        return out

    def use(self, node: Tree) -> str:
        _keyword, name, target, *options = node.children
        parts = ["use", self.ws(), str(name), self.ws(True), "=", self.ws(True)]
        return "".join(parts) + self.target(target) + self.options(options)

    def route(self, node: Tree) -> str:
        path, target, *options = node.children
        parts = [str(path), self.ws(True), "->", self.ws(True)]
        return "".join(parts) + self.target(target) + self.options(options)

    def block(self, node: Tree) -> str:
        _keyword, *patterns, block = node.children
        if node.data == "host_block":
            head = "host" + self.ws()
            texts = [str(p.children[0]) for p in patterns]
            head += texts[0] + "".join(self.ws(True) + "," + self.ws(True) + t for t in texts[1:])
        else:
            head = "default"
        out = head + self.ws() + "{"
        routes = [self.route(r) for r in block.children if r is not None]
        if not routes:
            if self.draw(st.booleans()):
                return out + self.ws(True) + "}"
            return out + self.eol() + self.filler() + self.indent() + "}"
        if self.draw(st.booleans()):  # the first route on the "{" line
            out += self.ws() + routes.pop(0)
            if not routes and self.draw(st.booleans()):  # a one-line block
                return out + self.ws() + "}"
        for route in routes:
            out += self.eol() + self.filler() + self.indent() + route
        if self.draw(st.booleans()):  # "}" after the last route
            return out + self.ws() + "}"
        return out + self.eol() + self.filler() + self.indent() + "}"

    def file(self, tree: Tree) -> str:
        out = self.draw(st.sampled_from(("", "", "", "\ufeff")))
        out += self.filler()
        for node in tree.children:
            if not isinstance(node, Tree):
                continue
            if node.data == "use_stmt":
                line = self.use(node)
            elif node.data == "route":
                line = self.route(node)
            else:
                line = self.block(node)
            out += self.indent() + line + self.eol() + self.filler()
        if self.draw(st.integers(0, 4)) == 0:
            out = out.rstrip("\r\n")  # no newline at the end
        return out


# Files that parse but need not lower cleanly.
WILD_NAMES = ("a", "b", "app", "status_x", "lazy_one")
WILD_PATHS = ("/", "/a", "/a/b", "/{x}", "/a/{y}", "/a/", "/{x}/{x}", "/é", "/a-b", "/a//b")
WILD_HOSTS = ("example.com", "{x}.example.com", "*.example.com", "a.b:8080", "[::1]", "bad..host")
WILD_TARGETS = (
    "m:app",
    "m.sub:obj.wsgi",
    "m:f()",
    "m:f(x)",
    'm:f(x, "s\\"", 3)',
    "m:f(-1, y)",
    "a",
    "b",
    "undefined",
    "status 404",
    "status 999",
    'redirect 301 "/{path}"',
    'redirect 404 "/x{x}"',
    "bad-mod:app",
)
WILD_OPTIONS = ("", "", " lazy", " cache 3", " cache -1 lazy", " lazy lazy", " cache 1 cache 2")


@st.composite
def wild_sources(draw) -> str:
    def route() -> str:
        path = draw(st.sampled_from(WILD_PATHS))
        target = draw(st.sampled_from(WILD_TARGETS))
        return f"{path} -> {target}{draw(st.sampled_from(WILD_OPTIONS))}"

    lines = []
    for kind in draw(st.lists(st.sampled_from(("use", "route", "host", "default")), max_size=8)):
        if kind == "use":
            name = draw(st.sampled_from(WILD_NAMES))
            target = draw(st.sampled_from(WILD_TARGETS))
            lines.append(f"use {name} = {target}{draw(st.sampled_from(WILD_OPTIONS))}")
        elif kind == "route":
            lines.append(route())
        else:
            head = "default"
            if kind == "host":
                hosts = draw(st.lists(st.sampled_from(WILD_HOSTS), min_size=1, max_size=3))
                head = "host " + ", ".join(hosts)
            body = "".join(f"    {route()}\n" for _ in range(draw(st.integers(0, 4))))
            lines.append(f"{head} {{\n{body}}}")
    return "\n".join(lines) + "\n"


@st.composite
def sources(draw) -> str:
    """Source text with a plain layout: a valid table or a wild file."""
    if draw(st.integers(0, 2)):
        return draw(tables()).source()
    return draw(wild_sources())


HYPOTHESIS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@HYPOTHESIS
@given(st.data())
def test_random_layouts_are_stable_and_equivalent(data):
    plain = data.draw(sources(), label="plain")
    tree = tree_of(plain)
    messy = Scrambler(data.draw).file(tree)
    assert tree_of(messy) == tree  # the scrambler keeps tokens and structure
    assert analyse("r.disp", messy.encode()).table == analyse("r.disp", plain.encode()).table
    out = assert_canonical(messy)
    assert_canonical(plain)
    # Valid tables stay valid, with the same IR.
    if analyse("r.disp", plain.encode()).ok:
        assert analyse("r.disp", out.encode()).ok


@HYPOTHESIS
@given(st.data())
def test_layout_without_comments_or_blank_lines_does_not_matter(data):
    """With no comments and no blank lines, fmt's output depends on the
    tree alone: two random layouts of one file format the same."""
    tree = tree_of(data.draw(sources(), label="plain"))
    one = Scrambler(data.draw, comments=False, blanks=False).file(tree)
    two = Scrambler(data.draw, comments=False, blanks=False).file(tree)
    assert format_text(one) == format_text(two)


# -- the command: run() ----------------------------------------------------------

MESSY = "host x {/ -> app:a}\n/b->app:b # c\n"
TIDY = "host x {\n    / -> app:a\n}\n\n/b -> app:b  # c\n"


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    path = tmp_path / "routes.disp"
    path.write_bytes(MESSY.encode())
    return path


def test_run_rewrites_in_place(messy: Path, capsys):
    os.chmod(messy, 0o640)
    assert run([messy], check=False, diff=False) == 0
    assert messy.read_bytes() == TIDY.encode()
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert [p.name for p in messy.parent.iterdir()] == ["routes.disp"]  # no temp file left
    out, err = capsys.readouterr()
    assert out == ""
    assert f"reformatted {messy}" in err
    assert "1 file reformatted." in err


def test_run_check_writes_nothing_and_names_the_file(messy: Path, capsys):
    assert run([messy], check=True, diff=False) == 1
    assert messy.read_bytes() == MESSY.encode()
    out, err = capsys.readouterr()
    assert out == ""
    assert f"would reformat {messy}" in err
    assert "1 file would be reformatted." in err


def test_run_diff_prints_a_unified_diff_and_writes_nothing(messy: Path, capsys):
    assert run([messy], check=False, diff=True) == 0
    assert messy.read_bytes() == MESSY.encode()
    out, _ = capsys.readouterr()
    assert out.startswith(f"--- {messy} (original)\n+++ {messy} (formatted)\n@@ ")
    assert "-host x {/ -> app:a}\n" in out
    assert "+    / -> app:a\n" in out
    assert "+/b -> app:b  # c\n" in out


def test_run_check_and_diff(messy: Path, capsys):
    assert run([messy], check=True, diff=True) == 1
    assert messy.read_bytes() == MESSY.encode()
    assert capsys.readouterr().out.startswith("--- ")


def test_run_diff_marks_a_missing_final_newline(tmp_path: Path, capsys):
    path = tmp_path / "r.disp"
    path.write_bytes(b"/ -> app:a")
    assert run([path], check=False, diff=True) == 0
    out = capsys.readouterr().out
    assert "-/ -> app:a\n\\ No newline at end of file\n+/ -> app:a\n" in out


def test_run_leaves_a_formatted_file_alone(tmp_path: Path, capsys):
    path = tmp_path / "r.disp"
    path.write_bytes(TIDY.encode())
    before = path.stat().st_mtime_ns
    for check, diff in ((False, False), (True, False), (False, True), (True, True)):
        assert run([path], check=check, diff=diff) == 0
        assert path.read_bytes() == TIDY.encode()
        assert path.stat().st_mtime_ns == before
    out, err = capsys.readouterr()
    assert out == ""
    assert "reformat" not in err.replace("would be reformatted", "")
    assert "1 file left unchanged." in err
    assert "1 file would be left unchanged." in err


def test_run_never_rewrites_a_file_with_a_syntax_error(tmp_path: Path, capsys):
    path = tmp_path / "bad.disp"
    raw = b"host x {\r\n  /  ->  app:a\r\n  /b app:b\r\n}\r\n"
    path.write_bytes(raw)
    assert run([path], check=False, diff=False) == 1
    assert path.read_bytes() == raw
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}:3:6: error[E001]: expected '->'" in err
    assert f"cannot format {path}" in err
    assert "1 file failed." in err


def test_run_invalid_utf8_is_not_rewritten(tmp_path: Path, capsys):
    path = tmp_path / "bad.disp"
    raw = b"/ -> app:a  # caf\xe9\n"
    path.write_bytes(raw)
    assert run([path], check=True, diff=True) == 1
    assert path.read_bytes() == raw
    assert "error[E002]" in capsys.readouterr().err


def test_run_formats_the_good_files_and_fails_on_the_bad(messy: Path, tmp_path: Path, capsys):
    bad = tmp_path / "bad.disp"
    bad.write_bytes(b"/ ->\n")
    assert run([bad, messy], check=False, diff=False) == 1
    assert bad.read_bytes() == b"/ ->\n"
    assert messy.read_bytes() == TIDY.encode()
    err = capsys.readouterr().err
    assert "1 file reformatted, 1 file failed." in err


def test_run_missing_file_is_a_usage_error(messy: Path, tmp_path: Path, capsys):
    missing = tmp_path / "nope.disp"
    with pytest.raises(UsageError, match="^cannot read .*nope.disp: No such file or directory$"):
        run([messy, missing], check=False, diff=False)
    assert messy.read_bytes() == MESSY.encode()  # nothing formatted at all
    assert main(["fmt", str(messy), str(missing)]) == 2
    assert messy.read_bytes() == MESSY.encode()
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"dispatchc: error: cannot read {missing}: No such file or directory\n"


def test_run_directory_is_a_usage_error(tmp_path: Path, capsys):
    with pytest.raises(UsageError, match="Is a directory"):
        run([tmp_path], check=False, diff=False)
    assert main(["fmt", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err


def test_run_crlf_file_gets_lf(tmp_path: Path):
    path = tmp_path / "r.disp"
    path.write_bytes(b"/ -> app:a\r\n")
    assert run([path], check=True, diff=False) == 1
    assert run([path], check=False, diff=False) == 0
    assert path.read_bytes() == b"/ -> app:a\n"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_run_writes_through_a_symlink(messy: Path, tmp_path: Path):
    link = tmp_path / "link.disp"
    link.symlink_to(messy)
    assert run([link], check=False, diff=False) == 0
    assert link.is_symlink()
    assert messy.read_bytes() == TIDY.encode()


# -- control characters: shown escaped, written exactly -------------------------------------


CONTROL_FILE = '/ -> m:f("\x1b[31m\x9b")  # \u202eevil\x07\x0c\n/x ->  app:b\n'


def test_run_diff_shows_control_characters_as_the_diagnostics_do(tmp_path: Path, capsys):
    # SPEC §6: `fmt --diff` prints no control character from the routing
    # file. A form feed (whitespace to the grammar) stays inside its line
    # instead of splitting the diff line as str.splitlines would.
    path = tmp_path / "r.disp"
    path.write_text(CONTROL_FILE, encoding="utf-8")
    assert run([path], check=False, diff=True) == 0
    out = capsys.readouterr().out
    assert out == (
        f"--- {path} (original)\n"
        f"+++ {path} (formatted)\n"
        "@@ -1,2 +1,2 @@\n"
        '-/ -> m:f("\ufffd[31m\ufffd")  # \ufffdevil\ufffd\ufffd\n'
        "-/x ->  app:b\n"
        '+/  -> m:f("\ufffd[31m\ufffd")  # \ufffdevil\ufffd\n'
        "+/x -> app:b\n"
    )


def test_run_writes_control_characters_exactly(tmp_path: Path):
    path = tmp_path / "r.disp"
    path.write_text(CONTROL_FILE, encoding="utf-8")
    assert run([path], check=False, diff=False) == 0
    assert path.read_text(encoding="utf-8") == (
        '/  -> m:f("\x1b[31m\x9b")  # \u202eevil\x07\n/x -> app:b\n'
    )


def test_run_diff_shows_the_cr_of_a_crlf_line(tmp_path: Path, capsys):
    # Lines whose only change is their ending still show a difference.
    path = tmp_path / "r.disp"
    path.write_bytes(b"/ -> app:a\r\n")
    assert run([path], check=False, diff=True) == 0
    assert "-/ -> app:a\ufffd\n+/ -> app:a\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/{t} -> m:f(t) wsgi lazy cache 3\n", "/{t} -> m:f(t) cache 3 lazy wsgi\n"),
        ("use a = m:app   wsgi  lazy\n/ -> a\n", "use a = m:app lazy wsgi\n/ -> a\n"),
        ("/ -> m:app wsgi # legacy\n", "/ -> m:app wsgi  # legacy\n"),
    ],
)
def test_options_are_written_in_one_order(line, expected):
    assert format_text(line) == expected
