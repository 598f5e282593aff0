"""``--format markdown``: for a pull-request comment. A heading per file,
a line of counts, then per host block a table: the kind of change, the
example URL, and its handling before and after. Text from the routing files
or URLs only appears in code spans, escaped for them and for tables."""

from __future__ import annotations

import re

from ...diagnostics import printable
from .as_text import side_lines, summary
from .engine import FileDiff, groups
from .handling import Handling

#: The first line of the comment: a CI job can find its own earlier comment by it.
MARKER = "<!-- dispatchc diff -->"

_TICKS = re.compile(r"`+")
_SPACES = re.compile(r"  +")


def code(text: str) -> str:
    """``text`` as a code span that a table cell can hold: safe on a terminal,
    ``|`` escaped, fenced with more backticks than it holds."""
    text = _SPACES.sub(" ", printable(text)).replace("|", "\\|")
    fence = "`" * (max((len(m) for m in _TICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(side: Handling) -> str:
    lines = []
    for head, detail in side_lines(side):
        lines.append(code(head))
        if detail:
            lines.append(code(detail))
    return "<br>".join(lines)


def render(diffs: list[FileDiff]) -> str:
    out = [MARKER]
    for diff in diffs:
        changed = len(diff.changes)
        out += ["", f"### Routing changes in {code(diff.new_name)}", ""]
        if not changed:
            out.append(f"No request is handled differently than by {code(diff.old_name)}.")
            continue
        out.append(
            f"Compared with {code(diff.old_name)}: {summary(diff.changes)}. "
            "Each row is a region of requests that the change handles differently, "
            "with an example and what `dispatchc explain` shows for it before and after."
        )
        for group, changes in groups(diff.changes):
            out += ["", f"**{code(group)}**", ""]
            out.append("| Change | Example | Before | After |")
            out.append("| --- | --- | --- | --- |")
            for change in changes:
                out.append(
                    f"| {change.kind} | {code(change.url)} "
                    f"| {_cell(change.old)} | {_cell(change.new)} |"
                )
    return "\n".join(out) + "\n"
