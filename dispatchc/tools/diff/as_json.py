"""``--format json``: a list of changes, each with ``url``, ``kind``, ``old``
and ``new`` (SPEC §11), plus ``file`` (the new file) and ``block`` (the
group the text format lists it under). A side is ``{"status", "reason"}``
for dispatchc's own 400/404, or the handling route's ``route``, ``target``,
``script_name``, ``path_info``, ``captures`` (``location`` for a redirect)
and ``fallbacks``: the routes that take over, in order, when the factory
before each returns None, ending with ``{"status": 404}`` when the last one
is a factory too. Non-ASCII text is written as ``\\u`` escapes, so nothing
reaches a terminal that could act on it."""

from __future__ import annotations

import json
from typing import Any

from .engine import FileDiff
from .handling import Handling, Step


def _step(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {
        "route": step.route,
        "target": step.target,
        "script_name": step.script_name,
        "path_info": step.path_info,
        "captures": dict(step.captures),
    }
    if step.location is not None:
        out["location"] = step.location
    return out


def side(handling: Handling) -> dict[str, Any]:
    if handling.status is not None:
        return {"status": handling.status, "reason": handling.reason}
    out = _step(handling.steps[0])
    fallbacks: list[dict[str, Any]] = [_step(s) for s in handling.steps[1:]]
    if handling.steps[-1].call is not None:
        fallbacks.append({"status": 404})
    out["fallbacks"] = fallbacks
    return out


def render(diffs: list[FileDiff]) -> str:
    rows = [
        {
            "url": change.url,
            "kind": change.kind,
            "file": diff.new_name,
            "block": change.group,
            "old": side(change.old),
            "new": side(change.new),
        }
        for diff in diffs
        for change in diff.changes
    ]
    return json.dumps(rows, indent=2) + "\n"
