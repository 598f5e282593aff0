"""``diff`` over two loaded files: the changed regions, each with its example
URL's old and new handling (as explain finds them), its kind and the block
it is shown under."""

from __future__ import annotations

from dataclasses import dataclass

from ...compiler import Result, gc_paused
from .handling import Handling, handling, kind
from .regions import changes

#: The group of changes that newly get 400 (a file that starts looking at hosts).
INVALID_HOSTS = "invalid hosts"
NO_BLOCK = "no block"


@dataclass(frozen=True)
class Change:
    url: str
    kind: str
    old: Handling
    new: Handling
    group: str  # the host block it is listed under
    line: int  # where in the new file the change shows (for annotations)
    column: int


@dataclass(frozen=True)
class FileDiff:
    """The changes from one file to another, with the names they are shown by."""

    old_name: str
    new_name: str
    changes: list[Change]


def compare(old: Result, new: Result) -> list[Change]:
    """The changes from ``old`` to ``new`` (files without errors), grouped by
    host block: the new file's blocks in precedence order, then blocks only
    the old file has, then invalid hosts; in each, in the order found."""
    # As in analyse: the cyclic collector would keep traversing two large plans.
    with gc_paused():
        return _compare(old, new)


def _compare(old: Result, new: Result) -> list[Change]:
    assert old.table is not None and old.plan is not None
    assert new.table is not None and new.plan is not None
    found = []
    for region in changes(old.plan, new.plan):
        before = handling(old.plan, region.url)
        after = handling(new.plan, region.url)
        group = after.block or before.block or NO_BLOCK
        if after.status == 400:
            group = INVALID_HOSTS
        line, column = _where(new, after)
        found.append(Change(region.url, kind(before, after), before, after, group, line, column))
    order = {label: i for i, label in enumerate(b.label for b in new.plan.blocks)}
    for b in old.plan.blocks:
        order.setdefault(b.label, len(order))
    order.setdefault(NO_BLOCK, len(order))
    order.setdefault(INVALID_HOSTS, len(order))
    return sorted(found, key=lambda c: order[c.group])


def groups(found: list[Change]) -> list[tuple[str, list[Change]]]:
    """Changes by group, in order."""
    out: list[tuple[str, list[Change]]] = []
    for change in found:
        if out and out[-1][0] == change.group:
            out[-1][1].append(change)
        else:
            out.append((change.group, [change]))
    return out


def _where(new: Result, after: Handling) -> tuple[int, int]:
    """The line of the new file that makes the change: the route that now
    handles the example; for a 404, its block; for a 400, the first host
    block (with it the file started checking hosts); else the first line."""
    assert new.plan is not None
    if after.handler is not None and after.handler.line > 0:
        return after.handler.line, after.handler.column
    if after.status == 400:
        spans = sorted((b.block.span.line, b.block.span.column) for b in new.plan.host_blocks)
        if spans and spans[0][0] > 0:
            return spans[0]
    elif after.block_line > 0:
        return after.block_line, after.block_column
    return 1, 1
