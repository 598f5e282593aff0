"""IR -> Python source of the dispatcher module.

Codegen builds a template context in which every value from the routing file
is already a Python literal (``repr``) or a compiler-owned name (``_dc_*``),
then renders ``templates/dispatcher.py.j2``. Path tables are built here: each
host block's routes form a trie of segments, determinised so that a request
walks one state per segment with one dict lookup, and every state carries its
routes in precedence order with their fallbacks (SPEC §3).
"""

from __future__ import annotations

import http
import os
from typing import Any

import jinja2

from . import __version__
from .errors import DispatchError
from .ir import (
    AppTarget,
    Block,
    FactoryTarget,
    HostPattern,
    RedirectTarget,
    Route,
    RouteTable,
    StatusTarget,
)
from .patterns import may_start_with_two_slashes
from .source import Source
from .tables import State, TableTooLarge, path_states, too_large

_SAFE_TYPES = (str, int, bool, type(None))


def pyrepr(value: Any) -> str:
    """``repr`` for the value types allowed in generated code, nothing else."""
    if isinstance(value, tuple):
        inner = ", ".join(pyrepr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if not isinstance(value, _SAFE_TYPES):
        raise TypeError(f"cannot emit {type(value).__name__} into generated code")
    return repr(value)


def pyrepr_names(names: tuple[str, ...]) -> str:
    """A tuple display of compiler-owned names (not strings)."""
    return f"({names[0]},)" if len(names) == 1 else "(" + ", ".join(names) + ")"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dispatchc", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = pyrepr
    return env


def status_line(code: int) -> str:
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{code} {phrase}"


def _states(block: Block, routes: list[Route], source: Source) -> list[State]:
    try:
        return path_states(routes)
    except TableTooLarge as exc:
        raise DispatchError(source, [too_large(block, exc)]) from None


# -- the context -----------------------------------------------------------


def _where(source: Source, span: Any) -> str:
    return f"{os.path.basename(source.path)}:{span.line}"


def _comment(text: str) -> str:
    """Source text shown in a comment: one printable line, never code."""
    flat = " ".join(text.split())
    return flat if flat.isprintable() else ascii(flat)


def _concat(pieces: list[tuple[bool, str]]) -> str:
    """An expression joining constant strings (True) and variables (False)."""
    merged: list[tuple[bool, str]] = []
    for const, text in pieces:
        if const and merged and merged[-1][0]:
            merged[-1] = (True, merged[-1][1] + text)
        else:
            merged.append((const, text))
    terms = [pyrepr(t) if c else t for c, t in merged]
    if len(terms) > 8:
        # A long chain of + nests as deep as it is long in Python's compiler.
        return "''.join((" + ", ".join(terms) + "))"
    return " + ".join(terms)


class _Context:
    """Collects what the template needs, naming everything deterministically."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.loads: dict[tuple[str, str, bool], dict[str, Any]] = {}
        self.load_counts: dict[str, int] = {}
        self.statuses: dict[int, dict[str, Any]] = {}
        self.caches: list[dict[str, Any]] = []
        self.redirects: list[dict[str, Any]] = []
        self.tables: list[dict[str, Any]] = []
        self.depths: set[int] = set()
        self.route_number: dict[int, int] = {}
        self.route_target: dict[int, str] = {}

    # -- targets ------------------------------------------------------------

    def load(self, target: AppTarget | FactoryTarget) -> str:
        key = (target.module, target.attr, target.lazy)
        if key not in self.loads:
            kind = "factory" if isinstance(target, FactoryTarget) else "app"
            count = self.load_counts[kind] = self.load_counts.get(kind, 0) + 1
            self.loads[key] = {
                "name": f"_dc_{kind}_{count}",
                "kind": kind,
                "module": target.module,
                "attr": target.attr,
                "lazy": target.lazy,
                "comment": _comment(target.ref + (" (lazy)" if target.lazy else "")),
            }
        return str(self.loads[key]["name"])

    def target(self, route: Route) -> str:
        """The name of a route's app, cache, status or redirect object (once per route)."""
        number = self.route_number.setdefault(id(route), len(self.route_number) + 1)
        if id(route) in self.route_target:
            return self.route_target[id(route)]
        target = route.target
        if isinstance(target, AppTarget):
            name = self.load(target)
        elif isinstance(target, FactoryTarget):
            name = f"_dc_cache_{number}"
            self.caches.append(
                {
                    "name": name,
                    "apps": f"_dc_apps_{number}",
                    "factory": self.load(target),
                    "size": target.cache,
                    "arity": len(target.args),
                    "ref": target.ref,
                    "comment": self.route_comment(route),
                }
            )
        elif isinstance(target, StatusTarget):
            if target.code not in self.statuses:
                self.statuses[target.code] = {
                    "name": f"_dc_status_{target.code}",
                    "text": status_line(target.code),
                }
            name = self.statuses[target.code]["name"]
        else:
            assert isinstance(target, RedirectTarget)
            name = f"_dc_redirect_{number}"
            self.redirects.append(
                {
                    "name": name,
                    "status": status_line(target.code),
                    "parts": tuple((p.kind, p.value) for p in target.parts),
                    "relative": may_start_with_two_slashes(target.parts),
                    "comment": self.route_comment(route),
                }
            )
        self.route_target[id(route)] = name
        return name

    def route_comment(self, route: Route) -> str:
        where = _where(self.source, route.span)
        return _comment(f"{where}  {route.path.text} -> {_target_text(route)}")

    # -- one table per host pattern (or the default block) ---------------------

    def add_table(
        self, block: Block, pattern: HostPattern | None, states: list[State]
    ) -> dict[str, Any]:
        t = len(self.tables) + 1
        prefix = "default" if pattern is None else pattern.text
        host_names = list(pattern.captures) if pattern is not None else []
        routes = list(block.ordered_routes())
        depth = max((len(r.path.segments) for r in routes), default=0)
        hits = [
            self.hit(t, i, route, prefix, host_names, depth) for i, route in enumerate(routes, 1)
        ]
        self.depths.add(depth)

        def state_name(index: int) -> str:
            return f"_dc_state_{t}_{index}"

        rendered = []
        for st in states:
            children = ", ".join(f"{pyrepr(k)}: {state_name(c)}" for k, c in st.children)
            chain = [hits[r]["name"] for r in st.chain]
            rendered.append(
                {
                    "name": state_name(st.index),
                    "children": "{" + children + "}",
                    "other": "None" if st.other is None else state_name(st.other),
                    "first": chain[0] if chain else "None",
                    "rest": pyrepr_names(tuple(chain[1:])) if len(chain) > 1 else "()",
                }
            )
        label = "default" if pattern is None else f"host {pattern.text}"
        root = rendered[-1]
        if depth:
            entry_value = f"(_dc_walk_{depth}, {root['name']}, _DC_NO_CAPTURES)"
        elif root["rest"] == "()" and root["first"] != "None" and hits[0]["kind"] == "static":
            # Only "/" routes, and the one that answers depends on nothing.
            entry_value = f"(None, {hits[0]['target']}, {pyrepr(hits[0]['route_name'])})"
        else:
            entry_value = f"(False, {root['name']}, _DC_NO_CAPTURES)"
        self.tables.append(
            {
                "comment": _comment(f"{label}  ({_where(self.source, block.span)})"),
                "hits": hits,
                "states": rendered,
                "root": rendered[-1]["name"],
                "walk": f"_dc_walk_{depth}" if depth else "False",
                "depth": depth,
                "entry": f"_DC_HOST_{t}",
                "entry_value": entry_value,
            }
        )
        return self.tables[-1]

    def hit(
        self, t: int, i: int, route: Route, prefix: str, host_names: list[str], depth: int
    ) -> dict[str, Any]:
        """A route as the walker meets it: a constant tuple when nothing about
        it depends on the request, else a function written out for it."""
        target_name = self.target(route)
        route_name = f"{prefix} {route.path.text}"
        segments = route.path.segments
        factory = isinstance(route.target, FactoryTarget)
        if not factory and not host_names and not route.path.captures:
            script = "".join("/" + (s.literal or "") for s in segments)
            return {
                "kind": "static",
                "target": target_name,
                "route_name": route_name,
                "name": f"_dc_hit_{t}_{i}",
                "value": f"({target_name}, {pyrepr(route_name)}, {pyrepr(script)}, {len(script)})",
                "comment": self.route_comment(route),
            }
        variables: dict[str, str] = {}
        loads = []
        for name in host_names:
            var = f"v{len(variables)}"
            variables[name] = var
            loads.append((var, f"host[{pyrepr(name)}]"))
        script: list[tuple[bool, str]] = []
        for position, seg in enumerate(segments, 1):
            if seg.capture is not None:
                var = f"v{len(variables)}"
                variables[seg.capture] = var
                loads.append((var, f"parts[{position}]"))
                script += [(True, "/"), (False, var)]
            else:
                script.append((True, "/" + (seg.literal or "")))
        key = None
        if isinstance(route.target, FactoryTarget):
            args = [
                variables[str(a.value)] if a.kind == "capture" else pyrepr(a.value)
                for a in route.target.args
            ]
            # One argument: the key is the argument itself (no tuple to build).
            key = args[0] if len(args) == 1 else "(" + ", ".join(args) + ")"
        captures = None
        if variables:
            captures = ", ".join(f"{pyrepr(n)}: {v}" for n, v in variables.items())
        all_literal = not route.path.captures
        script_src = _concat(script) if segments else None
        # A route as deep as its table: the rest of PATH_INFO is the last
        # piece of the split, with no slicing to do.
        rest = len(segments) + 1 if segments and len(segments) == depth else None
        return {
            "kind": "function",
            "name": f"_dc_route_{t}_{i}",
            "comment": self.route_comment(route),
            "loads": loads,
            "key": key,
            "target": target_name,
            "apps": target_name.replace("_dc_cache_", "_dc_apps_"),
            "route_name": route_name,
            "captures": captures,
            "script": script_src,
            "cut": len("".join(t for _, t in script)) if segments and all_literal else None,
            "rest": rest,
        }


def build_context(table: RouteTable, source: Source, source_name: str) -> dict[str, Any]:
    cx = _Context(source)
    entries: dict[int, list[dict[str, Any]]] = {}
    for block in table.all_blocks():
        states = _states(block, list(block.ordered_routes()), source)
        patterns: list[HostPattern | None] = list(block.patterns) or [None]
        entries[id(block)] = [cx.add_table(block, p, states) for p in patterns]
    default_entry = entries[id(table.default)][0]["entry"] if table.default is not None else None
    statuses = [cx.statuses[c] for c in sorted(cx.statuses)]
    loads = list(cx.loads.values())
    imports = []
    if loads:
        imports.append("importlib")
    if table.has_hosts:
        imports.append("ipaddress")
    if cx.caches:
        imports.append("threading")
    from_imports = []
    has_captures = any(hit.get("captures") for t in cx.tables for hit in t["hits"])
    if has_captures:
        from_imports.append(("collections.abc", "Mapping"))
    if cx.redirects:
        from_imports.append(("urllib.parse", "quote"))
    ctx: dict[str, Any] = {
        "version": __version__,
        "source_name": _comment_path(source_name),
        "sha256": source.sha256,
        "loads": loads,
        "has_lazy": any(load["lazy"] for load in loads),
        "statuses": statuses,
        "caches": cx.caches,
        "redirects": cx.redirects,
        "tables": cx.tables,
        "walkers": sorted(d for d in cx.depths if d),
        "unroll": UNROLL,
        "default_entry": default_entry,
        "has_hosts": table.has_hosts,
        "stdlib_imports": imports,
        "stdlib_from_imports": from_imports,
        "has_captures": has_captures,
    }
    if not table.has_hosts:
        ctx["default_table"] = cx.tables[0] if cx.tables else None
    ctx.update(_host_tables(table, entries))
    return ctx


#: Walkers for paths up to this many segments are unrolled (no loop).
UNROLL = 4


def _comment_path(name: str) -> str:
    """A file name fit for a comment: never a line break or control character.

    It is written on line 3, past the two lines where Python looks for a
    ``coding:`` declaration (PEP 263)."""
    return name if name.isprintable() else ascii(name)


def _target_text(route: Route) -> str:
    t = route.target
    if route.use:
        return route.use
    if isinstance(t, AppTarget):
        return t.ref
    if isinstance(t, FactoryTarget):
        args = ", ".join(a.value if a.kind == "capture" else repr(a.value) for a in t.args)
        return f"{t.ref}({args})"
    if isinstance(t, StatusTarget):
        return f"status {t.code}"
    return f"redirect {t.code} {t.url!r}"


def _host_tables(table: RouteTable, entries: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    exact: dict[str, str] = {}
    exact_port: dict[tuple[str, int], str] = {}
    fast: dict[str, str] = {}
    patterns: dict[int, dict[str, dict[tuple[int, int | None], str]]] = {}
    entry_of: dict[int, dict[str, Any]] = {}
    for block in table.blocks:
        for pattern, entry in zip(block.patterns, entries[id(block)], strict=True):
            entry_of[id(pattern)] = entry
    ported = {p.host for p, _ in table.host_patterns() if p.kind == "exact" and p.port is not None}
    for pattern, _block in table.host_patterns():
        found = entry_of[id(pattern)]
        entry = found["entry"]
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
        suffixes = patterns.setdefault(len(pattern.suffix), {})
        # (entry, capture names): a wildcard's entry is used as it is.
        names = pyrepr(pattern.captures) if pattern.captures else "None"
        suffixes.setdefault(pattern.host, {})[key] = f"({entry}, {names})"

    def sort_key(k: tuple[int, int | None]) -> tuple[int, int]:
        return (k[0], k[1] or 0)

    any_port = any(p.port is not None for p, _ in table.host_patterns())
    return {
        "fast": sorted(fast.items()),
        "exact": sorted(exact.items()),
        "exact_port": sorted(exact_port.items()),
        # Remember hosts by their raw Host header only when no pattern names a
        # port: then the scheme (which sets the default port) cannot matter.
        "memo": table.has_hosts and not any_port,
        "patterns": [
            (
                size,
                [
                    (
                        suffix,
                        sorted(entries.items(), key=lambda kv: sort_key(kv[0])),
                    )
                    for suffix, entries in sorted(patterns[size].items())
                ],
            )
            for size in sorted(patterns, reverse=True)
        ],
    }


def _tidy(code: str) -> str:
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


def generate(table: RouteTable, source: Source, source_name: str) -> str:
    """Render the dispatcher module and check that it compiles."""
    ctx = build_context(table, source, source_name)
    code = _tidy(_environment().get_template("dispatcher.py.j2").render(ctx))
    compile(code, source_name, "exec")
    return code
