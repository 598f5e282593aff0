"""The WSGI target: plan -> per-file tables and route functions -> module.

``context`` turns the plan into data for ``module.py.j2``, which writes
the per-file part (targets, one section per block, the host tables); the
run time it needs is copied in from ``runtime/`` by name; ``emit`` puts
the header, imports, run time, per-file part and ``application`` together.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from ...diagnostics import Diagnostic
from ...errors import UsageError
from ...plan import Plan
from ...plan.upstreams import project
from ..base import Job
from ..nginx.upstreams import Resolved, given, relative_name, resolve_once
from ..python.emit import Dialect, comment_path, module_text, same
from ..python.emit import context as shared_context
from ..python.emit import environment as shared_environment
from ..python.select import Runtime

RUNTIME_MODULES = (
    "dispatchc.targets.python.runtime.tables",
    "dispatchc.targets.wsgi.runtime.tables",
    "dispatchc.targets.python.runtime.loading",
    "dispatchc.targets.python.runtime.urls",
    "dispatchc.targets.python.runtime.hosts",
    "dispatchc.targets.wsgi.runtime.responses",
    "dispatchc.targets.wsgi.runtime.cache",
    "dispatchc.targets.python.runtime.states",
    "dispatchc.targets.wsgi.runtime.walk",
    "dispatchc.targets.wsgi.runtime.entry",
)

#: Run-time definitions written after the per-file part, as a module's end.
LATE = ("application",)


@functools.cache
def runtime() -> Runtime:
    return Runtime(RUNTIME_MODULES)


def environment() -> jinja2.Environment:
    return shared_environment("dispatchc.targets.wsgi")


#: The WSGI target matches PATH_INFO as it is, and ignores the wsgi option.
DIALECT = Dialect(
    text=same,
    quote_capture=lambda var: f"_dc_quote({var}, '')",
    quote_path="_dc_quote_path(environ.get('PATH_INFO', ''))",
    with_wsgi=False,
)


def context(plan: Plan) -> dict[str, Any]:
    return shared_context(plan, DIALECT)


def generate(
    plan: Plan, source_sha256: str, source_name: str, upstream: dict[str, str] | None = None
) -> str:
    """The WSGI module of a plan (of a backend's projected plan, with
    ``upstream``: its name, and the upstreams file's name and sha256)."""
    return module_text(
        environment(), runtime(), context(plan), LATE, source_sha256, source_name, upstream
    )


class WsgiTarget:
    name = "wsgi"
    summary = "a WSGI module exposing application(environ, start_response) (default)"

    def default_output(self, source: Path, options: dict[str, Any]) -> Path:
        upstream = options.get("upstream")
        if upstream:
            return source.with_name(f"{source.stem}_{upstream}.py")
        return source.with_suffix(".py")

    def check(self, job: Job) -> list[Diagnostic]:
        # WSGI is the reference: it reproduces every construct. A backend
        # (--upstream) needs the upstreams file to be right (SPEC §10).
        if not job.options.get("upstream"):
            return []
        return _backend(job).diagnostics

    def emit(self, job: Job) -> str:
        name = job.options.get("upstream")
        if not name:
            return generate(job.plan, job.source.sha256, job.source_name)
        resolved = _backend(job)
        assert resolved.upstreams is not None
        upstreams = given(job.options, "--upstream")
        return generate(
            project(job.plan, resolved.owner, name),
            job.source.sha256,
            job.source_name,
            {
                "name": name,
                "sha256": resolved.upstreams.source.sha256,
                "path": comment_path(relative_name(upstreams.path, job.output)),
            },
        )


def _backend(job: Job) -> Resolved:
    """The upstreams file of a ``--upstream NAME`` build, read against the plan;
    UsageError for an upstream the file does not define."""
    name = job.options["upstream"]
    resolved = resolve_once(job.plan, job.source, given(job.options, "--upstream"))
    if resolved.upstreams is not None and resolved.upstreams.get(name) is None:
        known = ", ".join(resolved.upstreams.names) or "none"
        raise UsageError(
            f"--upstream {name}: {resolved.upstreams.source.path} has no [upstream.{name}] "
            f"(upstreams: {known})"
        )
    return resolved


TARGET = WsgiTarget()
