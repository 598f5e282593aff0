"""``dispatchc diff OLD NEW`` and ``dispatchc diff --rev REV FILE...``."""

from __future__ import annotations

import sys
from pathlib import Path

from ...compiler import Result, analyse
from ...diagnostics import printable, render_github, render_text
from ...errors import UsageError
from ...files import read_source
from . import as_github, as_json, as_markdown, as_text
from .engine import FileDiff, compare
from .git import read_at

FORMATS = {
    "text": as_text.render,
    "json": as_json.render,
    "github": as_github.render,
    "markdown": as_markdown.render,
}


def _inputs(
    files: list[Path], rev: str | None
) -> list[tuple[tuple[str, bytes], tuple[str, bytes]]]:
    """(old name, bytes), (new name, bytes) per comparison; UsageError for a
    file that cannot be read or a revision that cannot be."""
    if rev is None:
        if len(files) != 2:
            raise UsageError("diff compares two files: dispatchc diff OLD NEW (or --rev REV FILE)")
        old, new = files
        return [((str(old), read_source(old)), (str(new), read_source(new)))]
    news = [(str(f), read_source(f)) for f in files]
    pairs = []
    for path, new in zip(files, news, strict=True):
        revision = read_at(rev, path)
        if revision.raw is None:
            print(
                f"dispatchc: note: {printable(revision.name)} does not exist: "
                "compared with an empty file",
                file=sys.stderr,
            )
        pairs.append(((revision.name, revision.raw or b""), new))
    return pairs


def _errors(results: list[Result], fmt: str) -> bool:
    """Print the errors of every file that has some, as build and lint do
    (github annotations on stdout, text on stderr); whether there were any."""
    failed = False
    for result in results:
        for d in result.errors:
            failed = True
            if fmt == "github":
                print(render_github(result.source, d))
            else:
                print(render_text(result.source, d) + "\n", file=sys.stderr)
    return failed


def run(files: list[Path], rev: str | None, fmt: str, exit_zero: bool = False) -> int:
    """Print the changes in ``fmt``. Exit 0 when no request is handled
    differently, 1 when some is (0 with ``exit_zero``), 2 for a file with
    errors (nothing is compared); UsageError for a bad file or revision."""
    try:
        pairs = _inputs(files, rev)
    except UsageError as exc:
        raise UsageError(printable(str(exc))) from None
    results = [(analyse(old, a), analyse(new, b)) for (old, a), (new, b) in pairs]
    if _errors([r for pair in results for r in pair], fmt):
        print("dispatchc: nothing compared: fix the errors above", file=sys.stderr)
        return 2
    diffs = [FileDiff(old.source.path, new.source.path, compare(old, new)) for old, new in results]
    sys.stdout.write(FORMATS[fmt](diffs))
    changed = any(d.changes for d in diffs)
    return 1 if changed and not exit_zero else 0
