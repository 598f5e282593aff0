"""``dispatchc fmt``: rewrite a routing file in one canonical layout.

``fmt`` branches off the pipeline at the parse tree, because the IR has no
comments: the file is parsed by a second Lark instance (the same grammar,
loaded from the same saved tables) that puts positions on trees and hands
every ``COMMENT`` token to a callback, and the tree, the comments
and the blank lines of the source are merged back in source order. Nothing
is ever reordered, so a comment stays where it was written.

Only a *syntactically* valid file is formatted: ``format_text`` raises the
same ``DispatchError`` (E001/E002/E003...) as the compiler for a file that
does not parse. Semantic errors (an undefined name, a duplicate route, a bad
status code) do not stop ``fmt``; it formats what it can read.

Two guarantees, as in black, checked by ``tests/test_fmt.py``:

- stable: ``format_text(format_text(x)) == format_text(x)``;
- equivalent: ``x`` and ``format_text(x)`` lower to equal IR (positions
  aside) and carry the same comments.

The canonical layout
--------------------

Whole file
    UTF-8 without a byte order mark, ``\\n`` line endings, exactly one
    newline at the end, no blank line at the start or the end, no trailing
    whitespace. Runs of blank lines collapse to one. Indentation is four
    spaces for what is inside a block, none at top level.

Statements
    One statement per line, in the order written. Tokens are separated by
    one space: ``use NAME = TARGET OPTION...``, ``PATH -> TARGET OPTION...``,
    ``status 404``, ``redirect 301 "URL"``; options in the order ``cache 16
    lazy wsgi``, whatever order they were written in. A factory
    is written ``module:factory(a, "s", 3)``: no space inside the
    parentheses, ``", "`` between arguments, ``module:factory()`` with none.
    Names, paths, host patterns, targets, numbers and strings are re-emitted
    exactly as written (string escapes and number spelling included).

Blocks
    ``host a.example, b.example {`` (``", "`` between patterns, one space
    before ``{``), each route on its own line indented four spaces, ``}``
    alone on its last line; ``default {`` likewise. A one-line block
    (``host x { / -> app:a }``) is expanded; an empty block is written
    ``host x {`` then ``}``. There is no blank line just after ``{`` or just
    before ``}``; blank lines between the routes of a block are kept
    (collapsed to one).

Blank lines around blocks
    Exactly one blank line separates a block from what precedes and what
    follows it. Comment lines directly above a block (no blank line between
    them and ``host``/``default``) belong to the block: the blank line goes
    above them. Between other top-level statements blank lines are kept
    as written (collapsed to one), so ``use`` lines stay grouped.

Alignment
    Within a block, every route's ``->`` is aligned: each path is padded
    with spaces to the longest path of the block (plus the one separating
    space). At top level the same holds for a run of routes, and the ``=``
    of a run of ``use`` lines is aligned the same way (``use backend  =``).
    A run is a sequence of top-level statements of one kind (routes, or
    ``use``) that no other statement interrupts; comment and blank lines do
    not end a run. Widths count characters (code points).

Comments
    The text of a comment is kept verbatim (``#`` included), only trailing
    whitespace is removed. A comment on a line of its own stays on a line of
    its own at the same place, indented like the statements around it: four
    spaces between a block's ``{`` and ``}`` (also before the first route or
    after the last one), none at top level. A comment after code on the same
    line stays after that code, two spaces after it: after a ``use`` or a
    route, after ``host ... {`` (a comment on the header line), or after
    ``}`` (a comment after the closing brace; for a one-line block that is
    where a comment written at the end of the line goes).
"""

from __future__ import annotations

import difflib
import functools
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lark import Lark, Token, Tree

from ..diagnostics import printable_lines
from ..errors import DispatchError
from ..files import read_source, write_atomic
from ..front.grammar import parser_with
from ..front.parser import decode, parse
from ..source import Source

INDENT = "    "
#: Characters the grammar treats as inline whitespace (WS_INLINE).
_INLINE_WS = " \t\f\r"

_lock = threading.Lock()
_comments: list[Token] = []


@functools.cache
def _comment_parser() -> Lark:
    """The grammar's parser, handing comments (ignored by the grammar) to
    ``_comments`` as they are lexed."""
    return parser_with(propagate_positions=True, lexer_callbacks={"COMMENT": _comments.append})


def _parse_with_comments(text: str) -> tuple[Tree, list[Token]]:
    with _lock:
        _comments.clear()
        try:
            tree = _comment_parser().parse(text)
            return tree, list(_comments)
        finally:
            _comments.clear()


# -- rendering statements ----------------------------------------------------


def _target(node: Tree | Token) -> str:
    if isinstance(node, Token):  # pragma: no cover - targets are always trees
        return str(node)
    kind = node.data
    kids = node.children
    if kind in ("import_target", "name_target"):
        return str(kids[0])
    if kind == "status_target":
        return f"status {kids[1]}"
    if kind == "redirect_target":
        return f"redirect {kids[1]} {kids[2]}"
    if kind == "factory_target":
        args = ", ".join(str(a.children[0]) for a in kids[1:-1] if a is not None)
        return f"{kids[0]}({args})"
    raise AssertionError(f"unknown target {kind}")  # pragma: no cover


def _option(node: Tree) -> str:
    if node.data == "cache_option":
        return f"cache {node.children[1]}"
    return "lazy" if node.data == "lazy_option" else "wsgi"


#: The canonical order of options after a target.
_OPTION_ORDER = {"cache_option": 0, "lazy_option": 1, "wsgi_option": 2}


def _with_options(target: Tree, options: Iterable[Tree]) -> str:
    ordered = sorted(options, key=lambda o: _OPTION_ORDER[o.data])
    return " ".join([_target(target), *(_option(o) for o in ordered)])


# -- the line model ----------------------------------------------------------


@dataclass
class _Line:
    """One output line. ``kind`` is one of: blank, comment, use, route, open,
    close. For use and route, ``key`` is the part padded for alignment (the
    name, the path) and ``rest`` what follows it."""

    kind: str
    level: int = 0
    key: str = ""
    rest: str = ""
    comment: str = ""
    width: int = 0

    def render(self) -> str:
        indent = INDENT * self.level
        if self.kind == "blank":
            return ""
        if self.kind == "comment":
            return indent + self.comment
        if self.kind == "use":
            code = f"use {self.key.ljust(self.width)} = {self.rest}"
        elif self.kind == "route":
            code = f"{indent}{self.key.ljust(self.width)} -> {self.rest}"
        else:  # open / close
            code = self.key
        return f"{code}  {self.comment}" if self.comment else code


@dataclass(frozen=True)
class _Event:
    """Something found in the source, at a position (1-based)."""

    line: int
    column: int
    end_line: int
    kind: str  # blank | comment | use | route | open | close
    key: str = ""
    rest: str = ""


def _events(text: str, tree: Tree, comments: list[Token]) -> list[_Event]:
    events: list[_Event] = []

    def statement(node: Tree) -> None:
        meta = node.meta
        if node.data == "use_stmt":
            _keyword, name, target, *options = node.children
            rest = _with_options(target, options)
            events.append(_Event(meta.line, meta.column, meta.end_line, "use", str(name), rest))
        elif node.data == "route":
            path, target, *options = node.children
            rest = _with_options(target, options)
            events.append(_Event(meta.line, meta.column, meta.end_line, "route", str(path), rest))
        else:
            _keyword, *patterns, block = node.children
            if node.data == "host_block":
                head = "host " + ", ".join(str(p.children[0]) for p in patterns) + " {"
            else:
                head = "default {"
            bm = block.meta
            # The block's span runs from its "{" to just after its "}".
            events.append(_Event(meta.line, meta.column, bm.line, "open", head))
            for route in block.children:
                if route is not None:
                    statement(route)
            events.append(_Event(bm.end_line, bm.end_column - 1, bm.end_line, "close", "}"))

    for node in tree.children:
        if isinstance(node, Tree):
            statement(node)
    for token in comments:
        body = str(token).rstrip()
        assert token.line is not None and token.column is not None
        events.append(_Event(token.line, token.column, token.line, "comment", body))
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(_INLINE_WS):
            events.append(_Event(number, 0, number, "blank"))
    events.sort(key=lambda e: (e.line, e.column))
    return events


def _lines(events: list[_Event]) -> list[_Line]:
    """Events in source order -> output lines, comments placed."""
    lines: list[_Line] = []
    level = 0
    code_line = 0  # source line where the last code line ended
    for ev in events:
        if ev.kind == "blank":
            lines.append(_Line("blank"))
        elif ev.kind == "comment":
            if ev.line == code_line and lines and lines[-1].kind not in ("blank", "comment"):
                lines[-1].comment = ev.key
            else:
                lines.append(_Line("comment", level, comment=ev.key))
        else:
            if ev.kind == "close":
                level = 0
            lines.append(_Line(ev.kind, level if ev.kind == "route" else 0, ev.key, ev.rest))
            if ev.kind == "open":
                level = 1
            code_line = ev.end_line
    return lines


def _blank_lines(lines: list[_Line]) -> list[_Line]:
    """Collapse runs of blank lines, drop those at the start and end of the
    file and of each block, and put one around every block."""
    out: list[_Line] = []
    for line in lines:
        if line.kind == "blank" and (not out or out[-1].kind in ("blank", "open")):
            continue
        if line.kind == "close" and out and out[-1].kind == "blank":
            out.pop()
        out.append(line)
    while out and out[-1].kind == "blank":
        out.pop()
    # A blank line above each block (above the comments directly over it)...
    result: list[_Line] = []
    for line in out:
        if line.kind == "open":
            start = len(result)
            while start > 0 and result[start - 1].kind == "comment":
                start -= 1
            if start > 0 and result[start - 1].kind != "blank":
                result.insert(start, _Line("blank"))
        elif result and result[-1].kind == "close" and line.kind != "blank":
            # ...and below it.
            result.append(_Line("blank"))
        result.append(line)
    return result


def _align(lines: list[_Line]) -> None:
    """Pad the keys of each run of uses or routes to a common width."""
    run: list[_Line] = []

    def flush() -> None:
        width = max((len(x.key) for x in run), default=0)
        for x in run:
            x.width = width
        run.clear()

    for line in lines:
        if line.kind in ("blank", "comment"):
            continue
        if run and (line.kind != run[0].kind or line.level != run[0].level):
            flush()
        if line.kind in ("use", "route"):
            run.append(line)
        else:
            flush()
    flush()


def format_source(source: Source) -> str:
    """The canonical text of a decoded routing file; DispatchError when it
    does not parse."""
    parse(source)  # the compiler's own syntax diagnostics
    text = source.text
    if not text.endswith("\n"):
        text += "\n"
    tree, comments = _parse_with_comments(text)
    lines = _blank_lines(_lines(_events(text, tree, comments)))
    _align(lines)
    if not lines:
        return ""
    return "".join(line.render() + "\n" for line in lines)


def format_text(text: str, path: str = "<text>") -> str:
    """The canonical layout of routing text (see the module docstring).

    Raises ``DispatchError`` with the compiler's syntax diagnostic when the
    text does not parse; semantic errors are not looked for."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return format_source(Source(path, text, text.encode("utf-8")))


# -- the command -------------------------------------------------------------


def _split_lines(text: str) -> list[str]:
    """Lines as dispatchc reads them: ended by ``\\n`` only (``str.splitlines``
    would also break at form feeds, ``\\x1c``, U+0085, U+2028...)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _diff(path: Path, old: str, new: str) -> str:
    """A unified diff of ``old`` to ``new``, for a terminal: a control
    character from the file is shown as U+FFFD, as in the diagnostics (a
    ``\\r`` of a CRLF line ending too, so that a line whose only change is
    its ending shows one)."""
    out: list[str] = []
    for line in difflib.unified_diff(
        _split_lines(old),
        _split_lines(new),
        fromfile=f"{path} (original)",
        tofile=f"{path} (formatted)",
    ):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return printable_lines("".join(out))


def _plural(n: int, word: str = "file") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run(paths: list[Path], check: bool, diff: bool) -> int:
    """``dispatchc fmt FILE... [--check] [--diff]``; returns the exit status.

    Every file is read first: one that cannot be read raises UsageError
    (exit 2) and nothing is formatted. Then each file is formatted in
    memory; a file with a syntax error gets its diagnostic on stderr and is
    never rewritten (exit 1). Without ``--check``/``--diff`` each file that
    changes is rewritten atomically (a temporary file beside it, then
    renamed; its permission bits kept). ``--diff`` prints a unified diff on
    stdout; ``--check`` exits 1 when a file would change. Neither writes.
    """
    raws = [read_source(path) for path in paths]
    write = not (check or diff)
    changed = unchanged = failed = 0
    for path, raw in zip(paths, raws, strict=True):
        try:
            source = decode(str(path), raw)
            new = format_source(source)
        except DispatchError as exc:
            print(exc.render(), file=sys.stderr)
            print(f"error: cannot format {path}: it does not parse", file=sys.stderr)
            failed += 1
            continue
        if new.encode("utf-8") == raw:
            unchanged += 1
            continue
        if diff:
            sys.stdout.write(_diff(path, raw.decode("utf-8"), new))
        if write:
            target = path.resolve() if path.is_symlink() else path
            try:
                write_atomic([(target, new)])
            except OSError as exc:
                print(
                    f"error: cannot write {path}: {exc.strerror or exc}",
                    file=sys.stderr,
                )
                failed += 1
                continue
            print(f"reformatted {path}", file=sys.stderr)
        else:
            print(f"would reformat {path}", file=sys.stderr)
        changed += 1

    done = "reformatted" if write else "would be reformatted"
    kept = "left unchanged" if write else "would be left unchanged"
    parts = []
    if changed:
        parts.append(f"{_plural(changed)} {done}")
    if unchanged:
        parts.append(f"{_plural(unchanged)} {kept}")
    if failed:
        parts.append(f"{_plural(failed)} failed")
    print(", ".join(parts) + ".", file=sys.stderr)
    if failed:
        return 1
    if check and changed:
        return 1
    return 0


__all__ = ["format_source", "format_text", "run"]
