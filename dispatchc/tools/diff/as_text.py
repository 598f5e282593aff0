"""``--format text``: the changes grouped by host block, for a terminal or a
CI log. Each side is what ``dispatchc explain`` shows of the example URL:
the route (``dispatchc.route``) and its target, the captures, SCRIPT_NAME
and PATH_INFO after dispatch, a redirect's Location, the routes that take
over when a factory returns None; or dispatchc's own 400/404 and why."""

from __future__ import annotations

from collections import Counter

from ...diagnostics import printable_lines
from ...ir import status_line
from .engine import Change, FileDiff, groups
from .handling import KINDS, Handling, Step


def _captures(step: Step) -> str:
    return "  ".join(f"{k}={v!r}" for k, v in step.captures.items())


def step_detail(step: Step) -> str:
    """Captures, the split, and a redirect's Location, on one line."""
    parts = []
    if step.captures:
        parts.append(f"captures {_captures(step)}")
    parts.append(f"SCRIPT_NAME={step.script_name!r}  PATH_INFO={step.path_info!r}")
    if step.location is not None:
        parts.append(f"Location: {step.location}")
    return "  ".join(parts)


def side_lines(side: Handling) -> list[tuple[str, str]]:
    """A handling as (heading, detail) pairs: the route and its target (or the
    status) and what it does; one pair per route of the fallback chain."""
    if side.status is not None:
        return [(f"{status_line(side.status)}: {side.reason}", "")]
    out = []
    for i, step in enumerate(side.steps):
        head = f"{step.route} -> {step.target}"
        if i:
            head = f"if {side.steps[i - 1].call} returns None: {head}"
        out.append((head, step_detail(step)))
    last = side.steps[-1]
    if last.call is not None:
        out.append((f"if {last.call} returns None: {status_line(404)}", ""))
    return out


def summary(changes: list[Change]) -> str:
    n = len(changes)
    if not n:
        return "no request is handled differently"
    count = Counter(c.kind for c in changes)
    kinds = ", ".join(f"{count[k]} {k}" for k in KINDS if count[k])
    return f"{n} changed region{'s' if n != 1 else ''} ({kinds})"


def render(diffs: list[FileDiff]) -> str:
    out = []
    for diff in diffs:
        if out:
            out.append("")
        out.append(f"{diff.old_name} -> {diff.new_name}: {summary(diff.changes)}")
        for group, changes in groups(diff.changes):
            out += ["", group]
            for change in changes:
                out.append(f"  {change.kind}  {change.url}")
                for label, side in (("old", change.old), ("new", change.new)):
                    for i, (head, detail) in enumerate(side_lines(side)):
                        out.append(f"    {label if i == 0 else '   '}  {head}")
                        if detail:
                            out.append(f"           {detail}")
    return printable_lines("\n".join(out)) + "\n"
