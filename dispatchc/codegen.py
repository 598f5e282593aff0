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
from dataclasses import dataclass
from typing import Any

import jinja2

from . import __version__
from .errors import DispatchError
from .ir import (
    AppTarget,
    Block,
    FactoryTarget,
    RedirectTarget,
    Route,
    RouteTable,
    StatusTarget,
)
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


@dataclass
class _State:
    name: str
    children: str
    other: str
    chain: str


# -- the context -----------------------------------------------------------


class _Names:
    """Compiler-owned names, handed out in a deterministic order."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str) -> str:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        return f"_dc_{kind}_{n}"


def _where(source: Source, span: Any) -> str:
    return f"{os.path.basename(source.path)}:{span.line}"


def _comment(text: str) -> str:
    """Source text shown in a comment: one printable line, never code."""
    flat = " ".join(text.split())
    return flat if flat.isprintable() else ascii(flat)


def build_context(table: RouteTable, source: Source, source_name: str) -> dict[str, Any]:
    names = _Names()
    loads: dict[tuple[str, str, bool], dict[str, Any]] = {}
    statuses: dict[int, dict[str, Any]] = {}
    routes_ctx: list[dict[str, Any]] = []
    has_lazy = False

    def load(target: AppTarget | FactoryTarget) -> str:
        nonlocal has_lazy
        key = (target.module, target.attr, target.lazy)
        if key not in loads:
            kind = "factory" if isinstance(target, FactoryTarget) else "app"
            has_lazy = has_lazy or target.lazy
            loads[key] = {
                "name": names(kind),
                "module": target.module,
                "attr": target.attr,
                "lazy": target.lazy,
                "comment": _comment(target.ref + (" (lazy)" if target.lazy else "")),
            }
        return loads[key]["name"]

    def route_entry(route: Route, block: Block) -> str:
        name = names("route")
        entry: dict[str, Any] = {
            "name": name,
            "path": route.path.text,
            "depth": len(route.path.segments),
            "comment": _comment(
                f"{_where(source, route.span)}  {route.path.text} -> {_target_text(route)}"
            ),
            "bind": name.replace("_route_", "_bind_"),
            "key": name.replace("_route_", "_key_"),
            "bind_body": None,
            "key_body": None,
            "cache": None,
            "redirect": None,
        }
        path_caps = [
            f"{pyrepr(seg.capture)}: parts[{i}]"
            for i, seg in enumerate(route.path.segments, start=1)
            if seg.capture is not None
        ]
        host_caps = any(p.captures for p in block.patterns)
        if path_caps and host_caps:
            entry["bind_body"] = "{**host, " + ", ".join(path_caps) + "}"
        elif path_caps:
            entry["bind_body"] = "{" + ", ".join(path_caps) + "}"
        elif host_caps:
            entry["bind_body"] = "host"
        target = route.target
        if isinstance(target, AppTarget):
            entry["target"] = load(target)
        elif isinstance(target, FactoryTarget):
            args = [
                f"captures[{pyrepr(a.value)}]" if a.kind == "capture" else pyrepr(a.value)
                for a in target.args
            ]
            entry["key_body"] = "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")"
            entry["cache"] = entry["target"] = name.replace("_route_", "_cache_")
            entry["factory"] = load(target)
            entry["size"] = target.cache
        elif isinstance(target, StatusTarget):
            if target.code not in statuses:
                statuses[target.code] = {
                    "name": f"_dc_status_{target.code}",
                    "text": status_line(target.code),
                }
            entry["target"] = statuses[target.code]["name"]
        else:
            assert isinstance(target, RedirectTarget)
            entry["redirect"] = entry["target"] = name.replace("_route_", "_redirect_")
            entry["status"] = status_line(target.code)
            entry["parts"] = tuple((p.kind, p.value) for p in target.parts)
        routes_ctx.append(entry)
        return name

    blocks_ctx: list[dict[str, Any]] = []
    block_roots: dict[int, tuple[str, int]] = {}
    for index, block in enumerate(table.all_blocks(), start=1):
        routes = list(block.ordered_routes())
        route_names = [route_entry(r, block) for r in routes]
        states = [
            _State(
                f"_dc_state_{index}_{s.index}",
                "{" + ", ".join(f"{pyrepr(k)}: _dc_state_{index}_{c}" for k, c in s.children) + "}",
                "None" if s.other is None else f"_dc_state_{index}_{s.other}",
                pyrepr_names(tuple(route_names[r] for r in s.chain)) if s.chain else "()",
            )
            for s in _states(block, routes, source)
        ]
        root = states[-1].name
        depth = max((len(r.path.segments) for r in block.routes), default=0)
        block_roots[id(block)] = (root, depth + 1)
        blocks_ctx.append(
            {
                "comment": _comment(
                    ("default" if block.is_default else "host " + block.label)
                    + f"  ({_where(source, block.span)})"
                ),
                "states": states,
            }
        )

    if table.default is not None:
        root, split = block_roots[id(table.default)]
        default_entry = f"({root}, {split}, _DC_NO_CAPTURES, 'default ')"
    else:
        default_entry = "(_DC_EMPTY, 1, _DC_NO_CAPTURES, '')"

    ctx: dict[str, Any] = {
        "version": __version__,
        "source_name": _comment_path(source_name),
        "sha256": source.sha256,
        "loads": list(loads.values()),
        "has_lazy": has_lazy,
        "statuses": [statuses[c] for c in sorted(statuses)],
        "routes": routes_ctx,
        "caches": any(r["cache"] for r in routes_ctx),
        "redirects": any(r["redirect"] for r in routes_ctx),
        "blocks": blocks_ctx,
        "default_entry": default_entry,
        "has_hosts": table.has_hosts,
    }
    ctx.update(_host_tables(table, block_roots))
    imports = []
    if ctx["loads"]:
        imports.append("importlib")
    if table.has_hosts:
        imports.append("ipaddress")
    if ctx["caches"]:
        imports.append("threading")
    ctx["stdlib_imports"] = imports
    ctx["stdlib_from_imports"] = [("urllib.parse", "quote")] if ctx["redirects"] else []
    return ctx


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


def _host_tables(table: RouteTable, roots: dict[int, tuple[str, int]]) -> dict[str, Any]:
    exact_entries: list[dict[str, Any]] = []
    fast: dict[str, str] = {}
    exact: dict[str, str] = {}
    exact_port: dict[tuple[str, int], str] = {}
    patterns: dict[int, dict[str, dict[tuple[int, int | None], str]]] = {}
    ported = {p.host for p, _ in table.host_patterns() if p.kind == "exact" and p.port is not None}
    count = 0
    for pattern, block in table.host_patterns():
        root, split = roots[id(block)]
        prefix = pattern.text + " "
        if pattern.kind == "exact":
            count += 1
            name = f"_DC_HOST_{count}"
            exact_entries.append({"name": name, "root": root, "split": split, "prefix": prefix})
            if pattern.port is None:
                exact[pattern.host] = name
                if pattern.host not in ported:
                    fast[pattern.host] = name
            else:
                exact_port[(pattern.host, pattern.port)] = name
                fast[f"{pattern.host}:{pattern.port}"] = name
            continue
        key = (0 if pattern.kind == "wildcard" else len(pattern.captures), pattern.port)
        entry = f"({root}, {split}, {pyrepr(pattern.captures)}, {pyrepr(prefix)})"
        suffixes = patterns.setdefault(len(pattern.suffix), {})
        suffixes.setdefault(pattern.host, {})[key] = entry

    def sort_key(k: tuple[int, int | None]) -> tuple[int, int]:
        return (k[0], k[1] or 0)

    return {
        "exact_entries": exact_entries,
        "fast": sorted(fast.items()),
        "exact": sorted(exact.items()),
        "exact_port": sorted(exact_port.items()),
        "patterns": [
            (
                size,
                [
                    (suffix, sorted(entries.items(), key=lambda kv: sort_key(kv[0])))
                    for suffix, entries in sorted(patterns[size].items())
                ],
            )
            for size in sorted(patterns, reverse=True)
        ],
    }


def generate(table: RouteTable, source: Source, source_name: str) -> str:
    """Render the dispatcher module and check that it compiles."""
    ctx = build_context(table, source, source_name)
    code = _environment().get_template("dispatcher.py.j2").render(ctx)
    compile(code, source_name, "exec")
    return code
