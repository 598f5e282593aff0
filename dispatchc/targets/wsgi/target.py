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

from ..._version import __version__
from ...diagnostics import Diagnostic
from ...errors import UsageError
from ...front.patterns import may_start_with_two_slashes
from ...ir import AppTarget, FactoryTarget, RedirectTarget, StatusTarget
from ...plan import BlockPlan, Plan, RoutePlan
from ...plan.upstreams import misdirected, project
from ..base import HEADER, Job
from ..nginx.upstreams import Resolved, given, relative_name, resolve_once
from ..python.emit import (
    UNROLL,
    Names,
    comment,
    concat,
    host_captures,
    is_static,
    leaves,
    pyrepr,
    route_names,
    state_rows,
    status_line,
    target_comment,
    tidy,
    walker,
)
from ..python.select import Runtime, join

RUNTIME_MODULES = (
    "dispatchc.targets.python.runtime.tables",
    "dispatchc.targets.wsgi.runtime.tables",
    "dispatchc.targets.python.runtime.loading",
    "dispatchc.targets.python.runtime.urls",
    "dispatchc.targets.python.runtime.hosts",
    "dispatchc.targets.wsgi.runtime.responses",
    "dispatchc.targets.wsgi.runtime.cache",
    "dispatchc.targets.wsgi.runtime.walk",
    "dispatchc.targets.wsgi.runtime.entry",
)

#: Run-time definitions written after the per-file part, as a module's end.
LATE = ("application",)


@functools.cache
def runtime() -> Runtime:
    return Runtime(RUNTIME_MODULES)


@functools.cache
def environment() -> jinja2.Environment:
    """Built once per process: compiling the template is most of a small build."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dispatchc.targets.wsgi", "."),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = pyrepr
    return env


# -- routes ------------------------------------------------------------------


def _app(route: RoutePlan, names: Names) -> str | None:
    """What a route calls, when it is a loaded app or a status."""
    target = route.target
    if isinstance(target, AppTarget):
        return names.load(target)
    if isinstance(target, StatusTarget):
        return Names.status(target.code)
    return None


def _static(block: BlockPlan, route: RoutePlan, names: Names) -> dict[str, Any]:
    script = route.script or ""
    target = route.target
    redirect = None
    if isinstance(target, RedirectTarget):
        location = "".join(p.value for p in target.parts)
        redirect = {"status": status_line(target.code), "location": location}
    return {
        "kind": "static",
        "name": Names.route(block, route),
        "comment": target_comment(route),
        "app": _app(route, names),
        "redirect": redirect,
        "names": route_names(block, route),
        "script": script,
        "cut": len(script),
    }


def _function(block: BlockPlan, route: RoutePlan, names: Names) -> dict[str, Any]:
    """A route that depends on the request, written out as a function."""
    segments = route.path.segments
    variables: dict[str, str] = {}
    loads: list[tuple[str, str, Any]] = []
    needed = set(route.path.captures)
    target = route.target
    if isinstance(target, FactoryTarget):
        needed |= {str(a.value) for a in target.args if a.kind == "capture"}
    elif isinstance(target, RedirectTarget):
        needed |= {p.value for p in target.parts if p.kind == "capture"}
    for name in sorted({c for p in block.patterns for c in p.captures} & needed):
        variables[name] = var = f"v{len(variables)}"
        loads.append((var, "host", name))
    script: list[tuple[bool, str]] = []
    for position, seg in enumerate(segments, 1):
        if seg.capture is not None:
            variables[seg.capture] = var = f"v{len(variables)}"
            loads.append((var, "part", position))
            script += [(True, "/"), (False, var)]
        else:
            script.append((True, "/" + (seg.literal or "")))
    data: dict[str, Any] = {
        "kind": "function",
        "name": Names.route(block, route),
        "comment": target_comment(route),
        "loads": loads,
        "names": route_names(block, route),
        "host_captures": host_captures(block),
        "captures": [(name, variables[name]) for name in route.path.captures],
        "script": concat(script) if segments else None,
        # All literal: the cut is known; as deep as the block's table: the
        # rest of PATH_INFO is the last piece of the split.
        "cut": len(route.script) if segments and route.script is not None else None,
        "rest": len(segments) + 1 if segments and len(segments) == block.depth else None,
    }
    data["factory"] = None
    if isinstance(target, FactoryTarget):
        data["factory"] = {
            "cache": Names.cache(block, route),
            "apps": Names.apps(block, route),
            "load": names.load(target),
            "size": target.cache,
            "arity": len(target.args),
            "ref": target.ref,
            "key": [
                variables[str(a.value)] if a.kind == "capture" else pyrepr(a.value)
                for a in target.args
            ],
        }
    data["app"] = _app(route, names)
    data["redirect"] = None
    if isinstance(target, RedirectTarget):
        pieces: list[tuple[bool, str]] = []
        for part in target.parts:
            if part.kind == "text":
                pieces.append((True, part.value))
            elif part.kind == "capture":
                pieces.append((False, f"_dc_quote({variables[part.value]}, '')"))
            else:
                pieces.append((False, "_dc_quote_path(environ.get('PATH_INFO', ''))"))
        location = concat(pieces)
        if may_start_with_two_slashes(target.parts):
            location = f"_dc_relative({location})"
        data["redirect"] = {"status": status_line(target.code), "location": location}
    return data


def _block(block: BlockPlan, names: Names, has_hosts: bool) -> dict[str, Any]:
    found = leaves(block)
    leaf_ranks = {r.rank for r in found.values()}
    routes = [
        _static(block, r, names) if is_static(block, r) else _function(block, r, names)
        for r in block.routes
    ]
    data: dict[str, Any] = {
        "comment": comment(block.label),
        "name": block.name,
        "depth": block.depth,
        "walker": walker(block.depth),
        "prefixes": block.prefixes,
        "answers": None,
    }
    root = block.root
    if (
        has_hosts
        and not block.depth
        and len(root.chain) == 1
        and routes
        and root.chain[0] < len(routes)
        and routes[0]["kind"] == "static"
    ):
        # A block whose one route always answers: its host entries call the
        # app directly, and no table is written.
        data["answers"] = routes[0]
        return data
    route_name = {r.rank: Names.route(block, r) for r in block.routes}
    # The 421 responder of a backend's projected chains (plan.upstreams).
    route_name[misdirected(block)] = "_dc_misdirected"
    leaf = {index: routes[route.rank] for index, route in found.items()}
    data["routes"] = [
        r for r, plan in zip(routes, block.routes, strict=True) if plan.rank not in leaf_ranks
    ]
    data["states"] = state_rows(block, route_name, found, leaf)
    data["root"] = data["states"][-1]["name"]
    return data


# -- hosts ---------------------------------------------------------------------


def _entry(block: dict[str, Any], k: int) -> dict[str, Any]:
    """A host entry (see ``runtime/entry.py``): the block and the index of
    the pattern that matched."""
    return {"block": block, "k": k}


def _hosts(plan: Plan, blocks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    exact: dict[str, Any] = {}
    exact_port: dict[tuple[str, int], Any] = {}
    fast: dict[str, Any] = {}
    patterns: dict[int, dict[str, dict[tuple[int, int | None], Any]]] = {}
    ported = {r.pattern.host for r in plan.hosts if r.pattern.kind == "exact" and r.pattern.port}
    for rule in plan.hosts:
        pattern = rule.pattern
        entry = _entry(blocks[rule.block.name], rule.index)
        if pattern.kind == "exact":
            if pattern.port is None:
                exact[pattern.host] = entry
                if pattern.host not in ported:
                    fast[pattern.host] = entry
            else:
                exact_port[(pattern.host, pattern.port)] = entry
                fast[f"{pattern.host}:{pattern.port}"] = entry
            continue
        key = (0 if pattern.kind == "wildcard" else len(pattern.captures), pattern.port)
        entry["captures"] = pattern.captures or None
        suffixes = patterns.setdefault(len(pattern.suffix), {})
        suffixes.setdefault(pattern.host, {})[key] = entry
    return {
        "exact": sorted(exact.items()),
        "exact_port": sorted(exact_port.items()),
        # The raw Host headers that need no normalisation differ from the
        # exact hosts only when some exact pattern names a port.
        "fast": sorted(fast.items()) if exact_port else None,
        "patterns": [
            (
                size,
                [
                    (suffix, sorted(entries.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)))
                    for suffix, entries in sorted(patterns[size].items())
                ],
            )
            for size in sorted(patterns, reverse=True)
        ],
        "default": None if plan.default is None else _entry(blocks[plan.default.name], 0),
    }


def context(plan: Plan) -> dict[str, Any]:
    names = Names.of(plan)
    blocks = {b.name: _block(b, names, plan.has_hosts) for b in plan.blocks}
    statuses = sorted(
        {r.target.code for b in plan.blocks for r in b.routes if isinstance(r.target, StatusTarget)}
    )
    depths = {b["depth"] for b in blocks.values() if b["depth"]}
    ctx: dict[str, Any] = {
        "loads": list(names.loads.values()),
        "statuses": [(Names.status(c), status_line(c)) for c in statuses],
        "blocks": [blocks[b.name] for b in plan.blocks],
        "has_hosts": plan.has_hosts,
        "walkers": [(walker(d), d) for d in sorted(depths)],
        "unroll": UNROLL,
    }
    if plan.has_hosts:
        ctx["hosts"] = _hosts(plan, blocks)
    else:
        ctx["default"] = blocks[plan.default.name] if plan.default is not None else None
    return ctx


def generate(
    plan: Plan, source_sha256: str, source_name: str, upstream: dict[str, str] | None = None
) -> str:
    """The WSGI module of a plan (of a backend's projected plan, with
    ``upstream``: its name, and the upstreams file's name and sha256)."""
    body = environment().get_template("module.py.j2").render(context(plan))
    selection = runtime().select(body, roots=LATE)
    late = [d for d in selection.definitions if d.names & set(LATE)]
    head = [d for d in selection.definitions if not d.names & set(LATE)]
    code = (
        environment()
        .get_template("frame.py.j2")
        .render(
            header=HEADER,
            version=__version__,
            sha256=source_sha256,
            source_name=_comment_path(source_name),
            imports=selection.imports,
            runtime=join(head),
            body=body.strip("\n"),
            late=join(late),
            upstream=upstream,
        )
    )
    return tidy(code)


def _comment_path(name: str) -> str:
    """A file name fit for a comment: never a line break or control character.

    It is written on line 3, past the two lines where Python looks for a
    ``coding:`` declaration (PEP 263)."""
    return name if name.isprintable() else ascii(name)


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
                "path": _comment_path(relative_name(upstreams.path, job.output)),
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
