"""The ASGI target: plan -> per-file tables and route functions -> module.

The data comes from ``dispatchc.targets.python.emit`` as for the WSGI
target, in the ASGI dialect: literal path segments are matched as text
(ASGI's ``path`` is decoded already: no latin-1 step), and a redirect
quotes the UTF-8 bytes of what it substitutes. ``module.py.j2`` writes
the per-file part (targets, the applications that get the lifespan
events, one section per block, the host tables); the run time it needs is
copied in from ``runtime/`` (and the protocol-free parts of
``dispatchc.targets.python.runtime``) by name.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from ...diagnostics import Diagnostic
from ...ir import AppTarget
from ...plan import Plan
from ..base import Job
from ..python.emit import Dialect, Names, module_text
from ..python.emit import context as shared_context
from ..python.emit import environment as shared_environment
from ..python.select import Runtime

RUNTIME_MODULES = (
    "dispatchc.targets.python.runtime.tables",
    "dispatchc.targets.asgi.runtime.tables",
    "dispatchc.targets.python.runtime.loading",
    "dispatchc.targets.python.runtime.urls",
    "dispatchc.targets.python.runtime.hosts",
    "dispatchc.targets.asgi.runtime.responses",
    "dispatchc.targets.asgi.runtime.wsgi",
    "dispatchc.targets.asgi.runtime.cache",
    "dispatchc.targets.asgi.runtime.lifespan",
    "dispatchc.targets.python.runtime.states",
    "dispatchc.targets.asgi.runtime.walk",
    "dispatchc.targets.asgi.runtime.entry",
)

#: Run-time definitions written after the per-file part, as a module's end.
LATE = ("application",)


def text(literal: str) -> str:
    """A literal path text of the plan (PATH_INFO form) as ASGI's decoded
    ``path`` holds it."""
    return literal.encode("latin-1").decode("utf-8")


DIALECT = Dialect(
    text=text,
    quote_capture=lambda var: f"_dc_quote(_dc_as_path_info({var}), '')",
    quote_path="_dc_quote_path(_dc_as_path_info(rest))",
    with_wsgi=True,
)


@functools.cache
def runtime() -> Runtime:
    return Runtime(RUNTIME_MODULES)


def environment() -> jinja2.Environment:
    return shared_environment("dispatchc.targets.asgi")


def _lifespan(target: object) -> bool:
    """Whether an application gets the lifespan events: imported when the
    module is (not lazy), and ASGI (not wsgi)."""
    return isinstance(target, AppTarget) and not target.lazy and not target.wsgi


def context(plan: Plan) -> dict[str, Any]:
    ctx = shared_context(plan, DIALECT)
    names = Names.of(plan, wrap_wsgi=True)
    lifespan: dict[str, str] = {}
    routes: set[str] = set()
    for block in plan.blocks:
        for route in block.routes:
            if _lifespan(route.target):
                assert isinstance(route.target, AppTarget)
                lifespan[names.load(route.target)] = route.target.ref
                routes.add(Names.route(block, route))
    ctx["lifespan"] = sorted(lifespan.items())
    for data in ctx["blocks"]:
        for route in data["routes"]:
            route["lifespan"] = route["name"] in routes
    return ctx


def generate(plan: Plan, source_sha256: str, source_name: str) -> str:
    """The ASGI module of a plan."""
    return module_text(environment(), runtime(), context(plan), LATE, source_sha256, source_name)


class AsgiTarget:
    name = "asgi"
    summary = "an ASGI module exposing application(scope, receive, send)"

    def default_output(self, source: Path, options: dict[str, Any]) -> Path:
        return source.with_suffix(".py")

    def check(self, job: Job) -> list[Diagnostic]:
        return []  # every construct has its ASGI form (SPEC §9)

    def emit(self, job: Job) -> str:
        return generate(job.plan, job.source.sha256, job.source_name)


TARGET = AsgiTarget()
