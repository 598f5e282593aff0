"""``dispatchc show FILE``: the routing table as a picture or as data.

Four renderings of the same IR, all deterministic (no dict or set order, no
file layout leaks in):

- ``tree``: host blocks in host precedence order (the block of the most
  specific pattern first, ``default`` last), each with its routes in path
  precedence order, like ``tree`` or ``flask routes``;
- ``dot`` (Graphviz) and ``mermaid`` (a flowchart): request -> host
  patterns -> routes -> targets, with dashed "None" edges from a factory
  route to the routes that may take over when it returns None;
- ``json``: the IR in the documented shape of ``docs/explain-and-show.md``
  (``"version": 1``).

Every string taken from the routing file is escaped for the format it goes
into (DOT quoted strings, mermaid entity codes, JSON), and nothing a
terminal would act on is printed: in tree, dot and mermaid a control
character is shown as U+FFFD, as the diagnostics show it
(``diagnostics.printable``); JSON writes it as a ``\\u`` escape, which keeps
the data exact.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..compiler import analyse
from ..diagnostics import printable, printable_lines, render_text
from ..ir import (
    AppTarget,
    Arg,
    Block,
    FactoryTarget,
    HostPattern,
    RedirectTarget,
    Route,
    RouteTable,
    StatusTarget,
    Target,
)
from ..source import Span

#: The version of the ``--format json`` shape; bumped on any incompatible change.
JSON_VERSION = 1

FORMATS = ("tree", "dot", "mermaid", "json")


# -- loading (shared with explain) -------------------------------------------


class LoadError(Exception):
    """A routing file could not be used: ``status`` is the exit code."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def load(path: Path) -> RouteTable:
    """The table of a routing file, or LoadError: 2 when it cannot be read,
    1 (with every error rendered) when it does not compile."""
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(2, f"dispatchc: error: cannot read {path}: {exc.strerror or exc}") from None
    result = analyse(str(path), raw)
    if not result.ok or result.table is None:
        errors = [d for d in result.diagnostics if d.is_error]
        text = "\n\n".join(render_text(result.source, d) for d in errors)
        raise LoadError(1, text)
    return result.table


# -- text of targets -----------------------------------------------------------


def disp_string(value: str) -> str:
    """A string as the routing language writes it (escapes ``\\"`` and ``\\\\``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arg_text(arg: Arg) -> str:
    if arg.kind == "capture":
        return str(arg.value)
    if arg.kind == "str":
        return disp_string(str(arg.value))
    return str(arg.value)


def options_text(target: Target) -> str:
    """The options of a target as written after it (``cache 256 lazy``), or ""."""
    out = []
    if isinstance(target, FactoryTarget) and target.cache != 1024:
        out.append(f"cache {target.cache}")
    if isinstance(target, AppTarget | FactoryTarget) and target.lazy:
        out.append("lazy")
    if isinstance(target, AppTarget | FactoryTarget) and target.wsgi:
        out.append("wsgi")
    return " ".join(out)


def target_text(target: Target, with_options: bool = True) -> str:
    """A target as the routing language writes it, with its options."""
    if isinstance(target, AppTarget):
        text = target.ref
    elif isinstance(target, FactoryTarget):
        text = f"{target.ref}({', '.join(arg_text(a) for a in target.args)})"
    elif isinstance(target, StatusTarget):
        text = f"status {target.code}"
    else:
        text = f"redirect {target.code} {disp_string(target.url)}"
    options = options_text(target) if with_options else ""
    return f"{text} {options}" if options else text


def route_target_text(route: Route) -> str:
    """``target`` and, when it was written with a ``use`` name, ``(use NAME)``."""
    text = target_text(route.target)
    return f"{text}  (use {route.use})" if route.use else text


# -- order ---------------------------------------------------------------------


def ordered_blocks(table: RouteTable) -> list[Block]:
    """Host blocks in host precedence order (by each block's most specific
    pattern; ties by pattern text, so file layout never matters), then default."""

    def key(block: Block) -> tuple[Any, ...]:
        best = min(p.weight for p in block.patterns)
        return (best, sorted(p.text for p in block.patterns))

    blocks = sorted(table.blocks, key=key)
    if table.default is not None:
        blocks.append(table.default)
    return blocks


def ordered_patterns(block: Block) -> list[HostPattern]:
    return sorted(block.patterns, key=lambda p: p.weight)


def ordered_routes(block: Block) -> list[Route]:
    """A block's routes in path precedence order (ties, which never match the
    same path, by pattern text)."""
    return sorted(block.routes, key=lambda r: (r.path.weight, r.path.text))


def route_names(block: Block, route: Route) -> list[str]:
    """The values ``environ["dispatchc.route"]`` takes when this route handles."""
    if block.is_default:
        return [f"default {route.path.text}"]
    return [f"{p.text} {route.path.text}" for p in ordered_patterns(block)]


def _compatible(first: Route, later: Route) -> bool:
    """Some path matches both routes (``later`` has no more segments)."""
    for a, b in zip(first.path.segments, later.path.segments, strict=False):
        if a.literal is not None and b.literal is not None and a.literal != b.literal:
            return False
    return True


def _covers(first: Route, later: Route) -> bool:
    """Every path that ``first`` matches, ``later`` matches too."""
    for a, b in zip(first.path.segments, later.path.segments, strict=False):
        if b.literal is not None and a.literal != b.literal:
            return False
    return True


def fallbacks(block: Block, route: Route) -> tuple[list[Route], bool]:
    """Where a request goes when ``route``'s factory returns None: the later
    routes that may take over (depending on the path), and whether some
    paths get 404 (no later route matches every path ``route`` matches)."""
    ordered = ordered_routes(block)
    index = next(i for i, r in enumerate(ordered) if r is route)
    out: list[Route] = []
    for later in ordered[index + 1 :]:
        if _compatible(route, later):
            out.append(later)
            if _covers(route, later):
                return out, False
    return out, True


# -- tree ----------------------------------------------------------------------


def _block_title(block: Block, has_hosts: bool) -> str:
    if block.is_default:
        return "default" if has_hosts else "default (no host blocks: any host)"
    return "host " + ", ".join(p.text for p in ordered_patterns(block))


def render_tree(table: RouteTable, title: str) -> str:
    """Hosts and their routes as an indented tree, in precedence order."""
    blocks = ordered_blocks(table)
    rows: list[tuple[Block, Route]] = [(b, r) for b in blocks for r in ordered_routes(b)]
    path_width = max((len(r.path.text) for _, r in rows), default=0)
    lines = [title]
    if not blocks:
        lines.append("└── (no routes: every request gets 404)")
    for bi, block in enumerate(blocks):
        last_block = bi == len(blocks) - 1
        lines.append(("└── " if last_block else "├── ") + _block_title(block, table.has_hosts))
        indent = "    " if last_block else "│   "
        routes = ordered_routes(block)
        if not routes:
            lines.append(indent + "└── (no routes: every path gets 404)")
        for ri, route in enumerate(routes):
            branch = "└── " if ri == len(routes) - 1 else "├── "
            text = f"{route.path.text.ljust(path_width)}  -> {route_target_text(route)}"
            if isinstance(route.target, FactoryTarget):
                after, may_404 = fallbacks(block, route)
                chain = [r.path.text for r in after] + (["404"] if may_404 else [])
                text += f"  [None: {' or '.join(chain)}]"
            lines.append(indent + branch + text)
    return printable_lines("\n".join(lines) + "\n")


# -- graphs --------------------------------------------------------------------


def _target_node_key(target: Target) -> tuple[str, str]:
    """(kind, label) of the node a target is drawn as: one node per app or
    factory (its arguments and options go on the edge), per status code, per
    redirect."""
    if isinstance(target, AppTarget):
        return ("app", target.ref)
    if isinstance(target, FactoryTarget):
        return ("factory", target.ref)
    if isinstance(target, StatusTarget):
        return ("status", f"status {target.code}")
    return ("redirect", target_text(target))


def _edge_label(route: Route) -> str:
    target = route.target
    parts = []
    if isinstance(target, FactoryTarget):
        parts.append(f"({', '.join(arg_text(a) for a in target.args)})")
    options = options_text(target)
    if options:
        parts.append(options)
    if route.use:
        parts.append(f"use {route.use}")
    return " ".join(parts)


def host_order(table: RouteTable) -> list[tuple[HostPattern, Block]]:
    """Every host pattern with its block, in the order they are tried (ties,
    which can never match the same host, by pattern text)."""
    return sorted(table.host_patterns(), key=lambda pb: (pb[0].weight, pb[0].text))


class _Graph:
    """The picture shared by dot and mermaid: clusters of nodes, targets, edges."""

    def __init__(self, table: RouteTable):
        self.request = ("req", "request")
        self.clusters: list[tuple[str, str, list[tuple[str, str, str]]]] = []
        self.targets: list[tuple[str, str, str]] = []  # (id, kind, label)
        self.edges: list[tuple[str, str, str, str]] = []  # (from, to, label, style)
        host_ids: dict[int, str] = {}
        target_ids: dict[tuple[str, str], str] = {}
        default_id = None
        later: list[tuple[str, str, str, str]] = []
        for bi, block in enumerate(ordered_blocks(table)):
            nodes: list[tuple[str, str, str]] = []
            heads = []
            if block.is_default:
                default_id = f"h{bi}"
                label = "other hosts" if table.has_hosts else "any host"
                nodes.append((default_id, "host", label))
                heads.append(default_id)
            for pi, pattern in enumerate(ordered_patterns(block)):
                host_id = f"h{bi}_{pi}"
                host_ids[id(pattern)] = host_id
                nodes.append((host_id, "host", pattern.text))
                heads.append(host_id)
            routes = ordered_routes(block)
            route_ids = {id(route): f"r{bi}_{ri}" for ri, route in enumerate(routes)}
            nodes += [(route_ids[id(r)], "route", r.path.text) for r in routes]
            self.clusters.append((f"b{bi}", _block_title(block, table.has_hosts), nodes))
            # host -> routes, numbered in the order they are tried.
            for head in heads:
                for ri, route in enumerate(routes):
                    later.append((head, route_ids[id(route)], str(ri + 1), "solid"))
            for route in routes:
                key = _target_node_key(route.target)
                if key not in target_ids:
                    target_ids[key] = f"t{len(target_ids)}"
                    self.targets.append((target_ids[key], key[0], key[1]))
                later.append((route_ids[id(route)], target_ids[key], _edge_label(route), "solid"))
                if isinstance(route.target, FactoryTarget):
                    for after in fallbacks(block, route)[0]:
                        later.append((route_ids[id(route)], route_ids[id(after)], "None", "dashed"))
        # request -> exact hosts, then the patterns numbered in precedence order.
        rank = 0
        for pattern, _ in host_order(table):
            if pattern.kind == "exact":
                label = "exact"
            else:
                rank += 1
                label = str(rank)
            self.edges.append(("req", host_ids[id(pattern)], label, "solid"))
        if default_id is not None:
            self.edges.append(("req", default_id, "else" if table.has_hosts else "", "solid"))
        self.edges += later


def dot_quote(text: str) -> str:
    """A DOT quoted string: backslash and double quote escaped (so ``\\N``,
    ``\\l`` and friends in source text stay literal), ``&`` as ``&amp;`` (Graphviz
    decodes HTML entities in every label), line breaks as ``\\n``."""
    out = text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\r", "\\r").replace("\n", "\\n")
    return f'"{out}"'


_DOT_SHAPES = {
    "host": 'shape=hexagon, style=filled, fillcolor="#e8f0fe"',
    "route": "shape=box",
    "app": 'shape=box, style="rounded,filled", fillcolor="#e6f4ea"',
    "factory": 'shape=component, style=filled, fillcolor="#e6f4ea"',
    "status": 'shape=octagon, style=filled, fillcolor="#fce8e6"',
    "redirect": 'shape=cds, style=filled, fillcolor="#fef7e0"',
}


def render_dot(table: RouteTable) -> str:
    """A Graphviz digraph: ``dot -Tsvg`` draws it."""
    graph = _Graph(table)
    lines = [
        "digraph routes {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f"  {graph.request[0]} [label={dot_quote(graph.request[1])}, shape=circle];",
    ]
    for cid, title, nodes in graph.clusters:
        lines.append(f"  subgraph cluster_{cid} {{")
        lines.append(f"    label={dot_quote(title)};")
        for nid, kind, label in nodes:
            lines.append(f"    {nid} [label={dot_quote(label)}, {_DOT_SHAPES[kind]}];")
        lines.append("  }")
    for nid, kind, label in graph.targets:
        lines.append(f"  {nid} [label={dot_quote(label)}, {_DOT_SHAPES[kind]}];")
    for src, dst, label, style in graph.edges:
        attrs = []
        if label:
            attrs.append(f"label={dot_quote(label)}")
        if style == "dashed":
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {src} -> {dst}{suffix};")
    lines.append("}")
    return printable_lines("\n".join(lines) + "\n")


#: Characters that mean something inside a quoted mermaid label, written as
#: entity codes (``#35;`` is ``#``, which starts an entity code itself).
_MERMAID_ENTITIES = {
    '"': "#quot;",
    "#": "#35;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    "|": "#124;",
    "`": "#96;",
    "\\": "#92;",
    "\n": " ",
    "\r": " ",
}


def mermaid_quote(text: str) -> str:
    """A quoted mermaid label: special characters as entity codes.

    Mermaid also rewrites any line where ``style`` or ``classDef`` is later
    followed by ``:`` and an entity code (``encodeEntities`` drops the last
    ``;``), so the first letter of those words is written as an entity too.
    """
    out = "".join(_MERMAID_ENTITIES.get(c, c) for c in text)
    out = out.replace("style", "#115;tyle").replace("classDef", "#99;lassDef")
    return f'"{out}"'


_MERMAID_SHAPES = {
    "host": ("{{", "}}"),
    "route": ("[", "]"),
    "app": ("(", ")"),
    "factory": ("[[", "]]"),
    "status": ("([", "])"),
    "redirect": (">", "]"),
}


def render_mermaid(table: RouteTable) -> str:
    """A mermaid flowchart (renders in GitHub markdown in a ```mermaid block)."""
    graph = _Graph(table)
    lines = ["flowchart LR", f"  {graph.request[0]}(({mermaid_quote(graph.request[1])}))"]
    for cid, title, nodes in graph.clusters:
        lines.append(f"  subgraph {cid} [{mermaid_quote(title)}]")
        for nid, kind, label in nodes:
            left, right = _MERMAID_SHAPES[kind]
            lines.append(f"    {nid}{left}{mermaid_quote(label)}{right}")
        lines.append("  end")
    for nid, kind, label in graph.targets:
        left, right = _MERMAID_SHAPES[kind]
        lines.append(f"  {nid}{left}{mermaid_quote(label)}{right}")
    for src, dst, label, style in graph.edges:
        arrow = "-.->" if style == "dashed" else "-->"
        text = f"|{mermaid_quote(label)}|" if label else ""
        lines.append(f"  {src} {arrow}{text} {dst}")
    return printable_lines("\n".join(lines) + "\n")


# -- json ----------------------------------------------------------------------


def _position(span: Span) -> dict[str, int | None]:
    if span.line <= 0:
        return {"line": None, "column": None}
    return {"line": span.line, "column": span.column}


def target_json(target: Target) -> dict[str, Any]:
    if isinstance(target, AppTarget):
        return {
            "kind": "app",
            "module": target.module,
            "attr": target.attr,
            "lazy": target.lazy,
            "wsgi": target.wsgi,
        }
    if isinstance(target, FactoryTarget):
        return {
            "kind": "factory",
            "module": target.module,
            "attr": target.attr,
            "args": [{"kind": a.kind, "value": a.value} for a in target.args],
            "cache": target.cache,
            "lazy": target.lazy,
            "wsgi": target.wsgi,
        }
    if isinstance(target, StatusTarget):
        return {"kind": "status", "code": target.code}
    assert isinstance(target, RedirectTarget)
    return {"kind": "redirect", "code": target.code, "url": target.url}


def pattern_json(pattern: HostPattern) -> dict[str, Any]:
    return {
        "text": pattern.text,
        "kind": pattern.kind,
        "captures": list(pattern.captures),
        "suffix": list(pattern.suffix),
        "port": pattern.port,
        **_position(pattern.span),
    }


def route_json(block: Block, route: Route) -> dict[str, Any]:
    return {
        "path": route.path.text,
        "segments": [
            {"kind": "literal", "value": s.literal}
            if s.literal is not None
            else {"kind": "capture", "value": s.capture}
            for s in route.path.segments
        ],
        "target": target_json(route.target),
        "use": route.use,
        "names": route_names(block, route),
        **_position(route.span),
    }


def table_json(table: RouteTable, file: str) -> dict[str, Any]:
    """The IR in the documented ``show --format json`` shape (version 1)."""
    blocks = ordered_blocks(table)
    index = {id(b): i for i, b in enumerate(blocks)}
    return {
        "version": JSON_VERSION,
        "file": file,
        "has_hosts": table.has_hosts,
        "uses": [
            {"name": u.name, "target": target_json(u.target), **_position(u.span)}
            for u in sorted(table.uses, key=lambda u: u.name)
        ],
        "host_order": [{"pattern": p.text, "block": index[id(b)]} for p, b in host_order(table)],
        "blocks": [
            {
                "default": b.is_default,
                "label": ", ".join(p.text for p in ordered_patterns(b)) or "default",
                "patterns": [pattern_json(p) for p in ordered_patterns(b)],
                "routes": [route_json(b, r) for r in ordered_routes(b)],
                **_position(b.span),
            }
            for b in blocks
        ],
    }


def render_json(table: RouteTable, file: str) -> str:
    text = json.dumps(table_json(table, file), indent=2, ensure_ascii=False)
    return "\n".join(map(_json_escaped, text.split("\n"))) + "\n"


def _json_escaped(line: str) -> str:
    """A line of JSON with each character that ``printable`` would hide
    written as a ``\\u`` escape instead (``json`` escapes C0 controls only,
    not DEL, C1 or bidi controls): the same data, safe on a terminal."""
    if printable(line) == line:
        return line
    return "".join(c if printable(c) == c else json.dumps(c)[1:-1] for c in line)


# -- command -------------------------------------------------------------------


def render(table: RouteTable, fmt: str, file: str) -> str:
    if fmt == "tree":
        return render_tree(table, file)
    if fmt == "dot":
        return render_dot(table)
    if fmt == "mermaid":
        return render_mermaid(table)
    if fmt == "json":
        return render_json(table, file)
    raise ValueError(f"unknown format {fmt!r}")


def run(args: argparse.Namespace) -> int:
    """``dispatchc show FILE [--format tree|dot|mermaid|json]``; the exit status."""
    path = Path(args.file)
    try:
        table = load(path)
    except LoadError as exc:
        print(exc.message, file=sys.stderr)
        return exc.status
    sys.stdout.write(render(table, getattr(args, "format", "tree") or "tree", str(args.file)))
    return 0
