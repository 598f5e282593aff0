"""``--format github``: one workflow command per change, a ``::warning`` on
the new file's line that handles the example URL (the block's line when no
route of the new file handles it, the first line when no block does), so
that GitHub shows each change beside the line of the pull request that
makes it. A warning, not an error: a change is for review, not a failure."""

from __future__ import annotations

from ...diagnostics import _github_escape, printable
from .as_text import side_lines
from .engine import Change, FileDiff


def _where(change: Change) -> tuple[int, int]:
    new = change.new
    if new.handler is not None and new.handler.line > 0:
        return new.handler.line, new.handler.column
    if new.status != 400 and new.block_line > 0:
        return new.block_line, new.block_column
    return 1, 1


def annotation(file: str, change: Change) -> str:
    line, column = _where(change)
    lines = [change.url]
    for label, side in (("old", change.old), ("new", change.new)):
        for i, (head, detail) in enumerate(side_lines(side)):
            lines.append(f"{label}: {head}" if i == 0 else f"     {head}")
            if detail:
                lines.append(f"     {detail}")
    props = ",".join(
        [
            f"file={_github_escape(file, prop=True)}",
            f"line={line}",
            f"col={column}",
            f"title={_github_escape(f'dispatchc diff: {change.kind}', prop=True)}",
        ]
    )
    message = _github_escape("\n".join(printable(x) for x in lines))
    return f"::warning {props}::{message}"


def render(diffs: list[FileDiff]) -> str:
    out = [annotation(printable(d.new_name), c) for d in diffs for c in d.changes]
    return "".join(line + "\n" for line in out)
