"""Temporary: the old entry point, now the WSGI target (removed once the
tests use the targets)."""

from __future__ import annotations

from . import plan, targets
from .errors import DispatchError
from .ir import RouteTable
from .source import Source
from .targets.python.emit import pyrepr as pyrepr
from .targets.python.emit import status_line as status_line


def generate(table: RouteTable, source: Source, source_name: str) -> str:
    try:
        built = plan.build(table)
    except plan.PlanError as exc:
        raise DispatchError(source, exc.diagnostics) from None
    return targets.get("wsgi").emit(targets.Job(built, source, source_name))
