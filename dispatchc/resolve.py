"""``lint --resolve``: import every target and check that it exists.

Targets are imported in a child Python process (the one running dispatchc),
so whatever their import does — side effects, ``sys.exit``, a hang — cannot
touch the linter; a hang is cut off after ``timeout`` seconds. The child
gets the routing file's directory first on ``sys.path`` (that is where the
generated module lives and where ``gunicorn --chdir`` would import it from),
then the current directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from .diagnostics import Diagnostic
from .ir import AppTarget, FactoryTarget, RouteTable
from .source import Span

_CHILD = r"""
import importlib, json, sys
refs = json.loads(sys.stdin.read())
out = []
for module, attr in refs:
    try:
        obj = importlib.import_module(module)
    except BaseException as exc:
        out.append(["module", f"{type(exc).__name__}: {exc}"])
        continue
    missing = None
    for i, name in enumerate(attr.split(".")):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            missing = ".".join(attr.split(".")[: i + 1])
            break
    if missing is not None:
        out.append(["attribute", missing])
    elif not callable(obj):
        out.append(["callable", type(obj).__name__])
    else:
        out.append(["ok", ""])
sys.stdout.write("\n" + json.dumps(out))
"""


@dataclass(frozen=True)
class _Use:
    module: str
    attr: str
    span: Span


def _references(table: RouteTable) -> list[_Use]:
    """Each target once, at the place it is written (the `use`, or the route)."""
    seen: set[tuple[str, str, int, int]] = set()
    refs = []
    for use in table.uses:
        t = use.target
        if isinstance(t, AppTarget | FactoryTarget):
            refs.append(_Use(t.module, t.attr, t.span))
            seen.add((t.module, t.attr, t.span.line, t.span.column))
    for block in table.all_blocks():
        for route in block.routes:
            t = route.target
            if route.use or not isinstance(t, AppTarget | FactoryTarget):
                continue
            key = (t.module, t.attr, t.span.line, t.span.column)
            if key not in seen:
                seen.add(key)
                refs.append(_Use(t.module, t.attr, t.span))
    return refs


def resolve(table: RouteTable, base_dir: str, timeout: float = 60.0) -> list[Diagnostic]:
    refs = _references(table)
    if not refs:
        return []
    env = dict(os.environ)
    path = [os.path.abspath(base_dir), os.getcwd()]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    payload = json.dumps([[r.module, r.attr] for r in refs])
    first = refs[0].span
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=payload,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=base_dir or ".",
        )
    except subprocess.TimeoutExpired:
        return [
            Diagnostic(
                "E401",
                f"importing the targets did not finish within {timeout:g} s",
                first,
                help="a target module blocks at import time",
            )
        ]
    try:
        results = json.loads(proc.stdout.rsplit("\n", 1)[-1])
    except ValueError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [Diagnostic("E401", f"importing the targets stopped the interpreter: {last}", first)]
    out = []
    for ref, (kind, detail) in zip(refs, results, strict=False):
        module_span = ref.span.shifted(0, len(ref.module))
        attr_span = ref.span.shifted(len(ref.module) + 1, len(ref.attr))
        if kind == "module":
            out.append(
                Diagnostic(
                    "E401",
                    f"module '{ref.module}' cannot be imported ({detail})",
                    module_span,
                    help="check the module name and that it is on sys.path",
                )
            )
        elif kind == "attribute":
            out.append(
                Diagnostic(
                    "E402",
                    f"module '{ref.module}' has no attribute '{detail}'",
                    attr_span,
                )
            )
        elif kind == "callable":
            out.append(
                Diagnostic(
                    "E403",
                    f"'{ref.module}:{ref.attr}' is a {detail}, not a callable",
                    attr_span,
                    help="a target is a WSGI application or a factory function",
                )
            )
    return out
