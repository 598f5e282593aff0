"""From the plan to the data a Python target's template renders.

Every value from the routing file reaches generated source through
``pyrepr`` (``repr`` of a str, int, bool or None, or tuples of them); every
name is made here, from identity (``dispatchc.plan.names``), with a
``_dc_`` prefix. Templates get structured data (names, literals already
repr'd, capture sources), never fragments of Python to paste.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import jinja2

from ..._version import __version__
from ...front.patterns import may_start_with_two_slashes
from ...ir import AppTarget, FactoryTarget, PathPattern, RedirectTarget, StatusTarget, target_text
from ...ir import status_line as status_line
from ...plan import BlockPlan, Plan, RoutePlan
from ...plan.names import identifier, unique
from ..base import HEADER
from .select import Runtime, join

_SAFE_TYPES = (str, int, bool, type(None))


def pyrepr(value: Any) -> str:
    """``repr`` for the value types allowed in generated code, nothing else."""
    if isinstance(value, tuple):
        inner = ", ".join(pyrepr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if not isinstance(value, _SAFE_TYPES):
        raise TypeError(f"cannot emit {type(value).__name__} into generated code")
    return repr(value)


def comment(text: str) -> str:
    """Source text shown in a comment: one printable line, never code."""
    flat = " ".join(text.split())
    return flat if flat.isprintable() else ascii(flat)


def concat(pieces: list[tuple[bool, str]]) -> str:
    """An expression joining constant strings (True) and names (False)."""
    merged: list[tuple[bool, str]] = []
    for const, text in pieces:
        if const and merged and merged[-1][0]:
            merged[-1] = (True, merged[-1][1] + text)
        elif not const or text:
            merged.append((const, text))
    if not merged:
        return "''"
    terms = [pyrepr(t) if c else t for c, t in merged]
    if len(terms) > 8:
        # A long chain of + nests as deep as it is long in Python's compiler.
        return "''.join((" + ", ".join(terms) + "))"
    return " + ".join(terms)


def wrapper_name(load: str) -> str:
    """``_dc_wsgi_app_legacy__app`` for ``_dc_app_legacy__app``."""
    return "_dc_wsgi_" + load.removeprefix("_dc_")


@dataclass
class Load:
    name: str
    module: str
    attr: str
    lazy: bool
    comment: str


@dataclass
class Names:
    """Every generated name of one module.

    A target is loaded once (``loads``), whatever routes name it. With
    ``wrap_wsgi`` (the ASGI target), an application marked ``wsgi`` is also
    given a wrapper's name, ``_dc_wsgi_...`` after its load's, which the
    routes call instead.
    """

    loads: dict[tuple[str, str, bool, bool], Load] = field(default_factory=dict)
    wrapped: set[tuple[str, str, bool, bool]] = field(default_factory=set)

    @classmethod
    def of(cls, plan: Plan, wrap_wsgi: bool = False) -> Names:
        refs: dict[tuple[str, str, bool, bool], str] = {}
        names = cls()
        for block in plan.blocks:
            for route in block.routes:
                target = route.target
                if isinstance(target, AppTarget | FactoryTarget):
                    factory = isinstance(target, FactoryTarget)
                    key = (target.module, target.attr, target.lazy, factory)
                    if key not in refs:  # a target is usually named by many routes
                        kind = ("lazy_" if target.lazy else "") + ("factory" if factory else "app")
                        module, attr = identifier(target.module), identifier(target.attr)
                        refs[key] = f"_dc_{kind}_{module}__{attr}"
                    if wrap_wsgi and target.wsgi and not factory:
                        names.wrapped.add(key)
        final = unique((repr(k), base) for k, base in refs.items())
        for key in sorted(refs):
            module, attr, lazy, _factory = key
            text = f"{module}:{attr}" + (" (lazy)" if lazy else "")
            names.loads[key] = Load(final[repr(key)], module, attr, lazy, comment(text))
        return names

    def load(self, target: AppTarget | FactoryTarget) -> str:
        factory = isinstance(target, FactoryTarget)
        return self.loads[(target.module, target.attr, target.lazy, factory)].name

    def app(self, target: AppTarget) -> str:
        """What a route naming ``target`` calls: its load, or its wrapper."""
        key = (target.module, target.attr, target.lazy, False)
        load = self.loads[key].name
        return wrapper_name(load) if target.wsgi and key in self.wrapped else load

    def wrappers(self) -> list[tuple[str, Load]]:
        """``(wrapper name, load)`` for each wrapped application."""
        return [(wrapper_name(self.loads[k].name), self.loads[k]) for k in sorted(self.wrapped)]

    @staticmethod
    def route(block: BlockPlan, route: RoutePlan) -> str:
        return f"_dc_route_{block.name}__{route.name}"

    @staticmethod
    def cache(block: BlockPlan, route: RoutePlan) -> str:
        return f"_dc_cache_{block.name}__{route.name}"

    @staticmethod
    def apps(block: BlockPlan, route: RoutePlan) -> str:
        return f"_dc_apps_{block.name}__{route.name}"

    @staticmethod
    def status(code: int) -> str:
        return f"_dc_status_{code}"


def target_comment(route: RoutePlan, with_wsgi: bool = True) -> str:
    """``path -> target`` as written (the ``use`` name when there is one);
    without the ``wsgi`` option unless ``with_wsgi`` (the WSGI target
    ignores it, and its output does not change with it)."""
    target = route.target
    if route.route.use or with_wsgi or not getattr(target, "wsgi", False):
        text = route.route.target_text
    else:
        text = target_text(replace(target, wsgi=False))
    return comment(f"{route.path.text} -> {text}")


def route_names(block: BlockPlan, route: RoutePlan) -> tuple[str, ...]:
    """Its ``dispatchc.route`` for each pattern of its block."""
    return tuple(block.route_name(route, i) for i in range(len(block.prefixes)))


def host_captures(block: BlockPlan) -> bool:
    """Whether some pattern of the block captures labels of the host."""
    return any(p.captures for p in block.patterns)


def is_static(block: BlockPlan, route: RoutePlan) -> bool:
    """Whether handling the route needs nothing but constants: no path
    capture, no factory, no redirect that substitutes (a host pattern's
    captures are set by the walker, from the host entry)."""
    target = route.target
    if isinstance(target, FactoryTarget) or route.path.captures:
        return False
    return not (isinstance(target, RedirectTarget) and any(p.kind != "text" for p in target.parts))


def same(text: str) -> str:
    return text


# -- per-file data of a Python target ------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What differs between the Python targets in the data below.

    ``text`` turns a literal path text of the plan (PATH_INFO form: UTF-8
    bytes as latin-1) into what the target matches; ``quote_capture`` and
    ``quote_path`` are the expressions a redirect substitutes for a capture
    (given its variable) and for ``{path}``; ``with_wsgi``: whether the
    ``wsgi`` option means something (shown in comments, apps wrapped).
    """

    text: Callable[[str], str]
    quote_capture: Callable[[str], str]
    quote_path: str
    with_wsgi: bool


def route_app(route: RoutePlan, names: Names) -> str | None:
    """What a route calls, when it is a loaded app or a status."""
    target = route.target
    if isinstance(target, AppTarget):
        return names.app(target)
    if isinstance(target, StatusTarget):
        return Names.status(target.code)
    return None


def row(route: RoutePlan, names: Names, dialect: Dialect) -> dict[str, Any]:
    """A row of a block's table (a route that needs nothing but constants,
    ``is_static``): what it calls (``app``, or the ``redirect`` answered),
    and its comment."""
    target = route.target
    redirect = None
    if isinstance(target, RedirectTarget):
        location = "".join(p.value for p in target.parts)
        redirect = {"status": status_line(target.code), "location": location}
    return {
        "comment": target_comment(route, dialect.with_wsgi),
        "app": route_app(route, names),
        "redirect": redirect,
    }


def static_route(
    block: BlockPlan, route: RoutePlan, names: Names, dialect: Dialect
) -> dict[str, Any]:
    """A constant route written out rather than as a row (its path is not
    ASCII): the row, its names and split."""
    script = dialect.text(route.script or "")
    return {
        **row(route, names, dialect),
        "kind": "static",
        "name": Names.route(block, route),
        "names": route_names(block, route),
        "script": script,
        "cut": len(script),
        # In a block whose patterns capture labels: the host's captures too.
        "hosted": host_captures(block),
    }


def function_route(
    block: BlockPlan, route: RoutePlan, names: Names, dialect: Dialect
) -> dict[str, Any]:
    """A route that depends on the request, written out as a function: where
    its variables come from (host captures, path segments), its captures,
    the split, its factory's cache and key, its redirect's Location."""
    segments = route.path.segments
    variables: dict[str, str] = {}
    loads: list[tuple[str, str, Any]] = []
    needed = set(route.path.captures)
    target = route.target
    if isinstance(target, FactoryTarget):
        needed |= {str(a.value) for a in target.args if a.kind == "capture"}
    elif isinstance(target, RedirectTarget):
        needed |= {p.value for p in target.parts if p.kind == "capture"}
    # When every pattern of the block captures the same names, the route's
    # captures are a dict built from its variables (as cheap as it gets);
    # else the host entry's captures are copied (``**host``).
    uniform = len({frozenset(p.captures) for p in block.patterns}) == 1
    host_names = block.patterns[0].captures if uniform and block.patterns else ()
    if not route.path.captures:
        host_names = ()  # the host's captures alone: a copy of the entry's dict
    needed |= set(host_names)
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
            script.append((True, "/" + dialect.text(seg.literal or "")))
    data: dict[str, Any] = {
        "kind": "function",
        "name": Names.route(block, route),
        "comment": target_comment(route, dialect.with_wsgi),
        "loads": loads,
        "names": route_names(block, route),
        "host_captures": host_captures(block) and not host_names,
        # Every pattern of the block captures: the host's captures are never empty.
        "host_always": uniform and bool(block.patterns and block.patterns[0].captures),
        "captures": [(name, variables[name]) for name in (*host_names, *route.path.captures)],
        "script": concat(script) if segments else None,
        # All literal: the cut is known; as deep as the block's table: the
        # rest of the path is the last piece of the split.
        "cut": (len(dialect.text(route.script)) if segments and route.script is not None else None),
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
            "wsgi": target.wsgi and dialect.with_wsgi,
            "key": [
                variables[str(a.value)] if a.kind == "capture" else pyrepr(a.value)
                for a in target.args
            ],
        }
        # A factory of one capture is cached under that capture's variable.
        args = target.args
        data["factory"]["key_var"] = (
            variables[str(args[0].value)] if len(args) == 1 and args[0].kind == "capture" else None
        )
    data["app"] = route_app(route, names)
    data["redirect"] = None
    if isinstance(target, RedirectTarget):
        pieces: list[tuple[bool, str]] = []
        for part in target.parts:
            if part.kind == "text":
                pieces.append((True, part.value))
            elif part.kind == "capture":
                pieces.append((False, dialect.quote_capture(variables[part.value])))
            else:
                pieces.append((False, dialect.quote_path))
        location = concat(pieces)
        if may_start_with_two_slashes(target.parts):
            location = f"_dc_relative({location})"
        data["redirect"] = {
            "status": status_line(target.code),
            "code": target.code,
            "location": location,
            "path": any(p.kind == "path" for p in target.parts),
        }
    return data


def table_path(path: PathPattern, dialect: Dialect) -> str:
    """A route's path as its block's table (``_dc_table``) keys it: the
    literal segments as the target matches them, ``{name}`` a capture."""
    return "/" + "/".join(
        "{" + str(s.capture) + "}" if s.literal is None else dialect.text(s.literal)
        for s in path.segments
    )


def block_data(block: BlockPlan, names: Names, dialect: Dialect) -> dict[str, Any]:
    """A block's table: a row ``(path, app, redirect, comment)`` per route
    that needs nothing but constants, sorted by path (the run time's
    ``_dc_table`` builds the automaton from the paths), and the other
    routes, written out (as functions, but for a constant route whose path
    is not ASCII)."""
    rows = []
    functions = []
    for route in block.routes:
        path = table_path(route.path, dialect)
        if is_static(block, route):
            # Its dispatchc.route is made from the path, which must then be
            # the path as written (not so for a non-ASCII one: UTF-8 bytes).
            if path == route.path.text:
                data = row(route, names, dialect)
                # a tuple: a template reads a dict's keys through a failed getattr
                rows.append((path, data["app"], data["redirect"], data["comment"]))
                continue
            data = static_route(block, route, names, dialect)
        else:
            data = function_route(block, route, names, dialect)
        data["path"] = path
        functions.append(data)
    return {
        "comment": comment(block.label),
        "name": block.name,
        "table": f"_dc_table_{block.name}",
        "prefixes": block.prefixes,
        "rows": sorted(rows, key=lambda row: row[0]),
        "routes": functions,
        # Rows of a block whose patterns capture labels are hosted routes
        # (the run time's _dc_hosted sets the host's captures).
        "hosted": host_captures(block),
        # A backend's block (SPEC §10): the paths other upstreams serve.
        "elsewhere": (
            None
            if block.elsewhere is None
            else sorted({table_path(path, dialect) for path in block.elsewhere})
        ),
    }


def host_entry(block: dict[str, Any], k: int) -> dict[str, Any]:
    """A host entry (see the targets' ``runtime/entry.py``): the block and
    the index of the pattern that matched."""
    return {"block": block, "k": k}


def hosts_data(plan: Plan, blocks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The host tables: exact hosts (with and without a port), the patterns
    by suffix, the default block's entry, and the raw Host values that
    need no normalisation."""
    exact: dict[str, Any] = {}
    exact_port: dict[tuple[str, int], Any] = {}
    fast: dict[str, Any] = {}
    patterns: dict[tuple[str, int, int | None], Any] = {}
    ported = {r.pattern.host for r in plan.hosts if r.pattern.kind == "exact" and r.pattern.port}
    for rule in plan.hosts:
        pattern = rule.pattern
        entry = host_entry(blocks[rule.block.name], rule.index)
        if pattern.kind == "exact":
            if pattern.port is None:
                exact[pattern.host] = entry
                if pattern.host not in ported:
                    fast[pattern.host] = entry
            else:
                exact_port[(pattern.host, pattern.port)] = entry
                fast[f"{pattern.host}:{pattern.port}"] = entry
            continue
        head = 0 if pattern.kind == "wildcard" else len(pattern.captures)
        entry["captures"] = pattern.captures or None
        patterns[(pattern.host, head, pattern.port)] = entry
    return {
        "exact": sorted(exact.items()),
        "exact_port": sorted(exact_port.items()),
        # When some pattern names a port, a Host header without one means the
        # scheme's default port, so no header is remembered by its text, only
        # those that need no normalisation (which differ from the exact hosts
        # when some exact pattern names a port).
        "fast": sorted(fast.items()) if any(r.pattern.port for r in plan.hosts) else None,
        # (suffix, capture labels or 0 for "*", port) -> entry, a line each.
        "patterns": sorted(
            patterns.items(),
            key=lambda kv: (-kv[0][0].count("."), kv[0][0], kv[0][1], kv[0][2] or 0),
        ),
        "default": None if plan.default is None else host_entry(blocks[plan.default.name], 0),
    }


def context(plan: Plan, dialect: Dialect) -> dict[str, Any]:
    """Everything a Python target's per-file template renders."""
    names = Names.of(plan, dialect.with_wsgi)
    blocks = {b.name: block_data(b, names, dialect) for b in plan.blocks}
    statuses = sorted(
        {r.target.code for b in plan.blocks for r in b.routes if isinstance(r.target, StatusTarget)}
    )
    ctx: dict[str, Any] = {
        "loads": list(names.loads.values()),
        "wrappers": names.wrappers(),
        "statuses": [(Names.status(c), status_line(c), c) for c in statuses],
        "blocks": [blocks[b.name] for b in plan.blocks],
        "has_hosts": plan.has_hosts,
    }
    if plan.has_hosts:
        ctx["hosts"] = hosts_data(plan, blocks)
    else:
        ctx["default"] = blocks[plan.default.name] if plan.default is not None else None
    return ctx


@functools.cache
def environment(package: str) -> jinja2.Environment:
    """The templates of the target in ``package`` (``module.py.j2`` and
    ``frame.py.j2``), with the ``pyrepr`` filter; built once per process:
    compiling the templates is most of a small build."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "."),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = pyrepr
    return env


def module_text(
    env: Any,
    runtime: Runtime,
    ctx: dict[str, Any],
    late: tuple[str, ...],
    source_sha256: str,
    source_name: str,
    upstream: dict[str, str] | None = None,
) -> str:
    """A whole module: ``env``'s ``frame.py.j2`` around the per-file part
    that ``module.py.j2`` renders from ``ctx``, with the header, the imports
    and the run time the per-file part uses (``late`` definitions, such as
    ``application``, after it)."""
    body = env.get_template("module.py.j2").render(ctx)
    selection = runtime.select(body, roots=late)
    after = [d for d in selection.definitions if d.names & set(late)]
    head = [d for d in selection.definitions if not d.names & set(late)]
    code = env.get_template("frame.py.j2").render(
        header=HEADER,
        version=__version__,
        sha256=source_sha256,
        source_name=comment_path(source_name),
        imports=selection.imports,
        runtime=join(head),
        body=body.strip("\n"),
        late=join(after),
        upstream=upstream,
    )
    return tidy(code)


def comment_path(name: str) -> str:
    """A file name fit for a comment: never a line break or control character.

    It is written on line 3, past the two lines where Python looks for a
    ``coding:`` declaration (PEP 263)."""
    return name if name.isprintable() else ascii(name)


def tidy(code: str) -> str:
    """PEP 8 blank lines, whatever the template's conditionals left: two
    around each top-level def or class (with the comments above it), at most
    one elsewhere at top level, none at the start of a block's body."""
    lines = code.split("\n")
    out: list[str] = []
    in_def = False
    for i, line in enumerate(lines):
        if line == "":
            out.append(line)
            continue
        top = not line[0].isspace()
        starts_def = line.startswith(("def ", "class "))
        if top and line.startswith("#"):
            j = i + 1
            while j < len(lines) and lines[j].startswith("#"):
                j += 1
            starts_def = j < len(lines) and lines[j].startswith(("def ", "class "))
        if top and out and not (out[-1].startswith("#") and starts_def and out[-1] != ""):
            blanks = 0
            while out and out[-1] == "":
                out.pop()
                blanks += 1
            if out:
                wanted = 2 if (starts_def or in_def) else min(blanks, 1)
                if out[-1].startswith("#") and not starts_def:
                    wanted = min(blanks, 1)
                out.extend([""] * wanted)
        if top and not line.startswith("#"):
            in_def = starts_def
        out.append(line)
    return "\n".join(out)
