"""``--format github``: one workflow command per change, a ``::warning`` on
the line of the new file that makes it (``engine._where``: the route that
now handles the example URL, else its block), so that GitHub shows each
change beside the line of the pull request. A warning, not an error: a
change is for review, not a failure."""

from __future__ import annotations

from ...diagnostics import github_escape, printable
from .as_text import side_lines
from .engine import Change, FileDiff


def annotation(file: str, change: Change) -> str:
    line, column = change.line, change.column
    lines = [change.url]
    for label, side in (("old", change.old), ("new", change.new)):
        for i, (head, detail) in enumerate(side_lines(side)):
            lines.append(f"{label}: {head}" if i == 0 else f"     {head}")
            if detail:
                lines.append(f"     {detail}")
    props = ",".join(
        [
            f"file={github_escape(file, prop=True)}",
            f"line={line}",
            f"col={column}",
            f"title={github_escape(f'dispatchc diff: {change.kind}', prop=True)}",
        ]
    )
    message = github_escape("\n".join(printable(x) for x in lines))
    return f"::warning {props}::{message}"


def render(diffs: list[FileDiff]) -> str:
    out = [annotation(printable(d.new_name), c) for d in diffs for c in d.changes]
    return "".join(line + "\n" for line in out)
