"""How one file handles one URL, as ``dispatchc explain`` finds it, and what
kind of change two such handlings make.

Everything ``diff`` shows of a request comes from explain's reference
matcher (``explain_url``), so what it prints for an example URL is what
``dispatchc explain FILE URL`` prints for it. This module is the only one of
``diff`` that reads explain's ``Explanation``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ir import FactoryTarget, RedirectTarget, StatusTarget, target_text
from ...plan import Plan
from ..explain import FALLBACK, HANDLES, explain_url

# Kinds of change, from the handling route's point of view (docs/cli.md).
MOVED = "moved"  # another route or another target handles it
RESPLIT = "resplit"  # same target, another SCRIPT_NAME/PATH_INFO split
CAPTURES = "captures-changed"  # same target and split, other captures
FALLBACK_CHANGED = "fallback-changed"  # same handler, other routes after a factory's None
STATUS_CHANGED = "status-changed"  # a `status` route is involved
REDIRECT_CHANGED = "redirect-changed"  # a `redirect` route is involved
NEW_404 = "new-404"
NEW_400 = "new-400"
NOW_HANDLED = "now-handled"

KINDS = (
    MOVED,
    RESPLIT,
    CAPTURES,
    FALLBACK_CHANGED,
    STATUS_CHANGED,
    REDIRECT_CHANGED,
    NEW_404,
    NEW_400,
    NOW_HANDLED,
)


@dataclass(frozen=True)
class Step:
    """A route that handles the request, or takes over if the factories
    before it return None."""

    route: str  # environ["dispatchc.route"]
    target: str  # as the routing language writes it, with its options
    captures: dict[str, str]
    script_name: str
    path_info: str
    call: str | None  # ``module.factory('arg')`` for a factory
    location: str | None  # a redirect's Location (the handling route only)
    does: tuple[object, ...]  # what it does, options aside (see ``_does``)
    line: int  # of the route in its file
    column: int

    @property
    def same(self) -> tuple[object, ...]:
        """What two equal handlings agree on."""
        return (
            self.route,
            self.does,
            tuple(sorted(self.captures.items())),
            self.script_name,
            self.path_info,
            self.location,
        )


@dataclass(frozen=True)
class Handling:
    """A file's handling of a URL: dispatchc's own ``status`` (400, 404) with
    explain's ``reason``, or ``steps``: the route that handles it, then each
    route that takes over if the factory before it returns None. When the
    last step is a factory, ``404`` follows if it returns None too."""

    status: int | None
    reason: str = ""
    steps: tuple[Step, ...] = ()
    block: str | None = None  # label of the chosen block (``host a, b``, ``default``)
    block_line: int = 0
    block_column: int = 0

    @property
    def handler(self) -> Step | None:
        return self.steps[0] if self.steps else None

    @property
    def same(self) -> tuple[object, ...]:
        if self.status is not None:
            return ("status", self.status)
        return ("routes", tuple(s.same for s in self.steps))


def _does(target: object, step_args: tuple[object, ...] | None) -> tuple[object, ...]:
    """A target as what it does, options (``cache``, ``lazy``) aside: an app,
    a factory call with its argument values, a status, a redirect."""
    if isinstance(target, FactoryTarget):
        return ("factory", target.ref, step_args)
    if isinstance(target, StatusTarget):
        return ("status", target.code)
    if isinstance(target, RedirectTarget):
        return ("redirect", target.code, target.url)
    return ("app", target_text(target, False))  # type: ignore[arg-type]


def handling(plan: Plan, url: str) -> Handling:
    """What ``dispatchc explain`` finds for ``GET url`` on this file, with
    every factory returning an app."""
    exp = explain_url(plan, url)
    label, line, column = None, 0, 0
    if exp.block is not None:
        label = exp.block.label
        line, column = exp.block.block.span.line, exp.block.block.span.column
    if exp.status is not None:
        return Handling(exp.status, exp.reason, (), label, line, column)
    steps = []
    for step in exp.steps:
        if step.role not in (HANDLES, FALLBACK):
            continue
        route = step.route.route
        steps.append(
            Step(
                step.name,
                target_text(route.target),
                dict(step.captures),
                step.script_name,
                step.path_info,
                step.call,
                exp.location if step.role == HANDLES else None,
                _does(route.target, step.args),
                route.span.line,
                route.span.column,
            )
        )
    return Handling(None, "", tuple(steps), label, line, column)


def kind(old: Handling, new: Handling) -> str:
    """The kind of change from ``old`` to ``new`` (two different handlings)."""
    if new.status is not None and new.status != old.status:
        return NEW_400 if new.status == 400 else NEW_404
    a, b = old.handler, new.handler
    if a is None or b is None:
        return NOW_HANDLED
    if a.does != b.does:
        kinds = {a.does[0], b.does[0]}
        if "redirect" in kinds:
            return REDIRECT_CHANGED
        if "status" in kinds:
            return STATUS_CHANGED
        return MOVED
    if (a.script_name, a.path_info) != (b.script_name, b.path_info):
        return RESPLIT
    if a.captures != b.captures:
        return CAPTURES
    if a.route != b.route:
        return MOVED
    if a.location != b.location:
        return REDIRECT_CHANGED
    return FALLBACK_CHANGED
