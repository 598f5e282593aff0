"""``dispatchc show FILE``: the routing table as a picture or as data.

Four renderings of the same plan (``dispatchc.plan``: the order, route names
and fallback chains every target follows, so nothing here sorts or names),
all deterministic (no dict or set order, no file layout leaks in):

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

import json
from typing import Any

from ..diagnostics import printable, printable_lines
from ..ir import HostPattern, Target, options_text, target_text
from ..plan import BlockPlan, Plan, RoutePlan
from ..source import Span
from .text import target_column

#: The version of the ``--format json`` shape; bumped on any incompatible change.
JSON_VERSION = 1

FORMATS = ("tree", "dot", "mermaid", "json")


# -- tree ----------------------------------------------------------------------


def _block_title(block: BlockPlan, has_hosts: bool) -> str:
    if block.is_default and not has_hosts:
        return "default (no host blocks: any host)"
    return block.label


def _none_chain(block: BlockPlan, route: RoutePlan) -> str:
    """``[None: /a or /b or 404]``: where a factory's None goes."""
    after, may_404 = block.fallbacks(route)
    chain = [r.path.text for r in after] + (["404"] if may_404 else [])
    return f"[None: {' or '.join(chain)}]"


def render_tree(plan: Plan, title: str) -> str:
    """Hosts and their routes as an indented tree, in precedence order."""
    blocks = plan.blocks
    path_width = max((len(r.path.text) for b in blocks for r in b.routes), default=0)
    lines = [title]
    if not blocks:
        lines.append("└── (no routes: every request gets 404)")
    for bi, block in enumerate(blocks):
        last_block = bi == len(blocks) - 1
        lines.append(("└── " if last_block else "├── ") + _block_title(block, plan.has_hosts))
        indent = "    " if last_block else "│   "
        routes = block.routes
        if not routes:
            lines.append(indent + "└── (no routes: every path gets 404)")
        for ri, route in enumerate(routes):
            branch = "└── " if ri == len(routes) - 1 else "├── "
            text = f"{route.path.text.ljust(path_width)}  -> {target_column(route.route)}"
            if route.is_factory:
                text += "  " + _none_chain(block, route)
            lines.append(indent + branch + text)
    return printable_lines("\n".join(lines) + "\n")


# -- graphs --------------------------------------------------------------------


def _target_node_key(target: Target) -> tuple[str, str]:
    """(kind, label) of the node a target is drawn as: one node per app or
    factory (its arguments and options go on the edge), per status code, per
    redirect."""
    return (target.kind, target.ref if target.imports else target_text(target))  # type: ignore[union-attr]


def _edge_label(route: RoutePlan) -> str:
    target = route.target
    parts = []
    if route.is_factory:
        parts.append(target.args_text)  # type: ignore[union-attr]
    options = options_text(target)
    if options:
        parts.append(options)
    if route.route.use:
        parts.append(f"use {route.route.use}")
    return " ".join(parts)


class _Graph:
    """The picture shared by dot and mermaid: clusters of nodes, targets, edges."""

    def __init__(self, plan: Plan):
        self.request = ("req", "request")
        self.clusters: list[tuple[str, str, list[tuple[str, str, str]]]] = []
        self.targets: list[tuple[str, str, str]] = []  # (id, kind, label)
        self.edges: list[tuple[str, str, str, str]] = []  # (from, to, label, style)
        host_ids: dict[tuple[str, int], str] = {}  # (block name, pattern index) -> id
        target_ids: dict[tuple[str, str], str] = {}
        default_id = None
        later: list[tuple[str, str, str, str]] = []
        for bi, block in enumerate(plan.blocks):
            nodes: list[tuple[str, str, str]] = []
            heads = []
            if block.is_default:
                default_id = f"h{bi}"
                label = "other hosts" if plan.has_hosts else "any host"
                nodes.append((default_id, "host", label))
                heads.append(default_id)
            for pi, pattern in enumerate(block.patterns):
                host_id = f"h{bi}_{pi}"
                host_ids[block.name, pi] = host_id
                nodes.append((host_id, "host", pattern.text))
                heads.append(host_id)
            route_ids = [f"r{bi}_{route.rank}" for route in block.routes]
            nodes += [(route_ids[r.rank], "route", r.path.text) for r in block.routes]
            self.clusters.append((f"b{bi}", _block_title(block, plan.has_hosts), nodes))
            # host -> routes, numbered in the order they are tried.
            for head in heads:
                for route in block.routes:
                    later.append((head, route_ids[route.rank], str(route.rank + 1), "solid"))
            for route, route_id in zip(block.routes, route_ids, strict=True):
                key = _target_node_key(route.target)
                if key not in target_ids:
                    target_ids[key] = f"t{len(target_ids)}"
                    self.targets.append((target_ids[key], key[0], key[1]))
                later.append((route_id, target_ids[key], _edge_label(route), "solid"))
                if route.is_factory:
                    for after in block.fallbacks(route)[0]:
                        later.append((route_id, route_ids[after.rank], "None", "dashed"))
        # request -> exact hosts, then the patterns numbered in precedence order.
        rank = 0
        for rule in plan.hosts:
            if rule.pattern.kind == "exact":
                label = "exact"
            else:
                rank += 1
                label = str(rank)
            self.edges.append(("req", host_ids[rule.block.name, rule.index], label, "solid"))
        if default_id is not None:
            self.edges.append(("req", default_id, "else" if plan.has_hosts else "", "solid"))
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


def render_dot(plan: Plan) -> str:
    """A Graphviz digraph: ``dot -Tsvg`` draws it."""
    graph = _Graph(plan)
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


def render_mermaid(plan: Plan) -> str:
    """A mermaid flowchart (renders in GitHub markdown in a ```mermaid block)."""
    graph = _Graph(plan)
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


#: What ``--format json`` gives of each kind of target, after ``kind``
#: (the shapes docs/explain-and-show.md documents).
TARGET_FIELDS = {
    "app": ("module", "attr", "lazy", "wsgi"),
    "factory": ("module", "attr", "args", "cache", "lazy", "wsgi"),
    "status": ("code",),
    "redirect": ("code", "url"),
}


def target_json(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": target.kind}
    for name in TARGET_FIELDS[target.kind]:
        value = getattr(target, name)
        out[name] = [{"kind": a.kind, "value": a.value} for a in value] if name == "args" else value
    return out


def pattern_json(pattern: HostPattern) -> dict[str, Any]:
    return {
        "text": pattern.text,
        "kind": pattern.kind,
        "captures": list(pattern.captures),
        "suffix": list(pattern.suffix),
        "port": pattern.port,
        **_position(pattern.span),
    }


def route_json(block: BlockPlan, route: RoutePlan) -> dict[str, Any]:
    return {
        "path": route.path.text,
        "segments": [
            {"kind": "literal", "value": s.literal}
            if s.literal is not None
            else {"kind": "capture", "value": s.capture}
            for s in route.path.segments
        ],
        "target": target_json(route.target),
        "use": route.route.use,
        "names": list(block.route_names(route)),
        **_position(route.route.span),
    }


def table_json(plan: Plan, file: str) -> dict[str, Any]:
    """The table in the documented ``show --format json`` shape (version 1)."""
    blocks = plan.blocks
    return {
        "version": JSON_VERSION,
        "file": file,
        "has_hosts": plan.has_hosts,
        "uses": [
            {"name": u.name, "target": target_json(u.target), **_position(u.span)}
            for u in sorted(plan.table.uses, key=lambda u: u.name)
        ],
        "host_order": [
            {"pattern": rule.pattern.text, "block": blocks.index(rule.block)} for rule in plan.hosts
        ],
        "blocks": [
            {
                "default": b.is_default,
                "label": ", ".join(b.prefixes),
                "patterns": [pattern_json(p) for p in b.patterns],
                "routes": [route_json(b, r) for r in b.routes],
                **_position(b.block.span),
            }
            for b in blocks
        ],
    }


def render_json(plan: Plan, file: str) -> str:
    text = json.dumps(table_json(plan, file), indent=2, ensure_ascii=False)
    return "\n".join(map(_json_escaped, text.split("\n"))) + "\n"


def _json_escaped(line: str) -> str:
    """A line of JSON with each character that ``printable`` would hide
    written as a ``\\u`` escape instead (``json`` escapes C0 controls only,
    not DEL, C1 or bidi controls): the same data, safe on a terminal."""
    if printable(line) == line:
        return line
    return "".join(c if printable(c) == c else json.dumps(c)[1:-1] for c in line)


# -- the command -----------------------------------------------------------------


def render(plan: Plan, fmt: str, file: str) -> str:
    """``dispatchc show FILE --format FMT``: the text it prints (``file`` is
    the name the tree and the JSON give the routing file)."""
    if fmt == "tree":
        return render_tree(plan, file)
    if fmt == "dot":
        return render_dot(plan)
    if fmt == "mermaid":
        return render_mermaid(plan)
    if fmt == "json":
        return render_json(plan, file)
    raise ValueError(f"unknown format {fmt!r}")
