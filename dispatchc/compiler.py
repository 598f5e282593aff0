"""Wire the stages together: bytes -> Source -> Tree -> IR -> Python source.

Also where outputs are written: atomically, and only when every input of a
run compiled (SPEC §6).
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .codegen import generate
from .diagnostics import Diagnostic, sort_key
from .errors import DispatchError
from .ir import RouteTable
from .lower import lower
from .parser import decode, parse
from .source import Source
from .tables import check_sizes


@dataclass
class Result:
    """The outcome of reading one routing file."""

    source: Source
    table: RouteTable | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.table is not None and not any(d.is_error for d in self.diagnostics)


@contextlib.contextmanager
def _gc_paused():  # type: ignore[no-untyped-def]
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
    """Parse and lower one file, collecting every diagnostic."""
    with _gc_paused():
        return _analyse(path, raw)


def _analyse(path: str, raw: bytes) -> Result:
    try:
        source = decode(path, raw)
        tree = parse(source)
    except DispatchError as exc:
        return Result(exc.source, None, exc.diagnostics)
    table, diagnostics = lower(tree)
    if not any(d.is_error for d in diagnostics):
        diagnostics += check_sizes(table)
    return Result(source, table, sorted(diagnostics, key=sort_key))


def _compiled(path: str, raw: bytes) -> tuple[RouteTable, Source]:
    """The IR of a file and its decoded source, or DispatchError with all its errors."""
    result = analyse(path, raw)
    if not result.ok or result.table is None:
        raise DispatchError(result.source, [d for d in result.diagnostics if d.is_error])
    return result.table, result.source


def load_table(path: str, raw: bytes) -> RouteTable:
    """The IR of a file, or DispatchError with all its errors."""
    return _compiled(path, raw)[0]


def default_output(path: Path) -> Path:
    return path.with_suffix(".py")


def source_name(source_path: Path, output: Path) -> str:
    """The source's path relative to the output's directory, with '/'."""
    rel = os.path.relpath(os.path.abspath(source_path), os.path.abspath(output.parent))
    return rel.replace(os.sep, "/")


def compile_file(path: Path, output: Path, raw: bytes | None = None) -> str:
    """Compile one routing file for ``output``; raise DispatchError on errors."""
    data = path.read_bytes() if raw is None else raw
    with _gc_paused():
        table, source = _compiled(str(path), data)
        return generate(table, source, source_name(path, output))


def write_atomic(outputs: list[tuple[Path, str]]) -> None:
    """Write every output or none: stage each in a temporary file beside its
    target, then rename them all into place. Raises OSError (with nothing
    left behind) if staging fails."""
    staged: list[tuple[str, Path]] = []
    try:
        for output, text in outputs:
            output.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
            staged.append((tmp, output))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            mode = output.stat().st_mode & 0o777 if output.exists() else 0o644
            os.chmod(tmp, mode)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    try:
        for tmp, output in staged:
            os.replace(tmp, output)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
