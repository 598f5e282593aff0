"""Wire the stages together: bytes -> Source -> IR -> plan -> a target's text.

``analyse`` reads a file and collects every diagnostic (what ``lint``
needs); ``compile_source`` turns a file without errors into one target's
output. Reading and writing files is ``files.py``'s.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import targets
from .diagnostics import Diagnostic, sort_key
from .errors import DispatchError
from .front.lower import lower
from .front.parser import decode, parse
from .ir import RouteTable
from .plan import Plan, PlanError
from .plan import build as build_plan
from .source import Source


@dataclass
class Result:
    """The outcome of reading one routing file: its table and plan when it
    has no errors, and every diagnostic found."""

    source: Source
    table: RouteTable | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return self.plan is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


@contextlib.contextmanager
def gc_paused():  # type: ignore[no-untyped-def]
    """Compiling allocates many small objects while a large parse tree is
    alive, so the cyclic collector would keep traversing it (30 % of a
    10,000-route build); everything is freed by reference counting anyway,
    and the collector runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyse(path: str, raw: bytes) -> Result:
    """Parse, lower and plan one file, collecting every diagnostic."""
    with gc_paused():
        try:
            source = decode(path, raw)
            tree = parse(source)
        except DispatchError as exc:
            return Result(exc.source, None, exc.diagnostics)
        table, diagnostics = lower(tree)
        del tree
        built = None
        if not any(d.is_error for d in diagnostics):
            try:
                built = build_plan(table)
            except PlanError as exc:
                diagnostics += exc.diagnostics
        return Result(source, table, sorted(diagnostics, key=sort_key), built)


def load(path: str, raw: bytes) -> Result:
    """A file without errors (its table and plan); DispatchError with all
    its errors otherwise."""
    result = analyse(path, raw)
    if not result.ok:
        raise DispatchError(result.source, result.errors)
    return result


def load_table(path: str, raw: bytes) -> RouteTable:
    """The IR of a file without errors; DispatchError otherwise."""
    table = load(path, raw).table
    assert table is not None
    return table


def source_name(source_path: Path, output: Path) -> str:
    """The source's path relative to the output's directory, with '/'."""
    rel = os.path.relpath(os.path.abspath(source_path), os.path.abspath(output.parent))
    return rel.replace(os.sep, "/")


def compile_source(
    path: Path,
    raw: bytes,
    output: Path,
    target: str = targets.DEFAULT,
    options: dict[str, Any] | None = None,
    warnings: list[tuple[Source, Diagnostic]] | None = None,
) -> str:
    """The text of ``target``'s output for one routing file, written to
    ``output`` (its header names the source relative to it); DispatchError
    with every error of the file, or what the target cannot express. The
    target's warnings are added to ``warnings`` when it is given."""
    result = load(str(path), raw)
    assert result.plan is not None
    job = targets.Job(result.plan, result.source, source_name(path, output), options or {}, output)
    chosen = targets.get(target)
    found = sorted(chosen.check(job), key=sort_key)
    if any(d.is_error for d in found):
        raise DispatchError(result.source, found)
    if warnings is not None:
        warnings.extend((result.source, d) for d in found)
    with gc_paused():
        return chosen.emit(job)


def compile_file(path: Path, output: Path, raw: bytes | None = None) -> str:
    """The WSGI module of one routing file (``compile_source`` for the
    default target, reading the file when ``raw`` is not given)."""
    return compile_source(path, path.read_bytes() if raw is None else raw, output)
