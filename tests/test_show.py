"""``dispatchc show`` (SPEC §6): the routing table as a tree, a graph or JSON.

- Golden files: ``tests/show_cases/<name>.{tree,dot,mmd,json}`` for each
  sample and each ``tests/show_cases/*.disp``. After an intended change,
  regenerate them with::

      DISPATCHC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_show.py

  and review the diff.
- The JSON validates against the JSON Schema in docs/explain-and-show.md
  (a small hand-written validator for the keywords it uses), and holds the
  whole table: a routing file rebuilt from it compiles to the same table.
- DOT and mermaid outputs parse (a small parser for the subset emitted):
  balanced blocks, every edge between declared nodes, and every label
  decodes back to the text of the routing file.
- The output does not depend on statement order; the command's exit codes.
"""

from __future__ import annotations

import difflib
import html
import json
import os
import re
import shlex
import warnings
from pathlib import Path
from typing import Any

import pydot
import pytest

from dispatchc.cli import main
from dispatchc.compiler import load, load_table
from dispatchc.ir import (
    AppTarget,
    Block,
    FactoryTarget,
    Route,
    RouteTable,
    StatusTarget,
    Target,
    disp_string,
)
from dispatchc.plan import Plan
from dispatchc.tools.show import render, render_mermaid, render_tree, table_json

from .conftest import ROOT, SAMPLES

CASES_DIR = Path(__file__).resolve().parent / "show_cases"
DOC = ROOT / "docs" / "explain-and-show.md"
UPDATE_ENV = "DISPATCHC_UPDATE_GOLDEN"
REGENERATE = f"{UPDATE_ENV}=1 .venv/bin/python -m pytest tests/test_show.py"
EXTENSIONS = {"tree": "tree", "dot": "dot", "mermaid": "mmd", "json": "json"}

SOURCES = sorted(SAMPLES.glob("*.disp")) + sorted(CASES_DIR.glob("*.disp"))
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def display(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def plan_of(name: str, raw: bytes) -> Plan:
    plan = load(name, raw).plan
    assert plan is not None
    return plan


def plan_for(path: Path) -> Plan:
    return plan_of(display(path), path.read_bytes())


# -- golden files -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_golden(source: Path, fmt: str):
    built = render(plan_for(source), fmt, display(source))
    expected = CASES_DIR / f"{source.stem}.{EXTENSIONS[fmt]}"
    current = expected.read_text(encoding="utf-8") if expected.exists() else None
    if current == built:
        return
    if os.environ.get(UPDATE_ENV) == "1":
        expected.write_text(built, encoding="utf-8", newline="\n")
        return
    if current is None:
        pytest.fail(f"{display(expected)} does not exist; create it with:\n    {REGENERATE}")
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            built.splitlines(keepends=True),
            fromfile=f"{display(expected)} (expected)",
            tofile="show (now)",
        )
    )
    pytest.fail(
        f"show --format {fmt} of {display(source)} changed:\n{diff}\nIf intended:\n    {REGENERATE}"
    )


def test_every_golden_file_has_a_source():
    stems = {p.stem for p in SOURCES}
    for path in CASES_DIR.iterdir():
        if path.suffix != ".disp":
            assert path.stem in stems and path.suffix[1:] in EXTENSIONS.values(), path


# -- tree ------------------------------------------------------------------------------------

PRECEDENCE = """\
host *.example.com {
    / -> m:star
}
default {
    / -> m:other
}
host {a}.example.com:8080 {
    / -> m:port(a)
}
host b.example.com, *.x.example.com {
    /{x}/b -> m:xb
    /a/{y} -> m:ay(y)
    /a     -> m:a
    /b     -> m:b
}
host {a}.{b}.example.com {
    / -> m:ab
}
host {a}.example.com {
    /z -> status 410
}
"""


def test_tree_precedence_order():
    text = render_tree(plan_of("p.disp", PRECEDENCE.encode()), "p.disp")
    assert text == (
        "p.disp\n"
        "├── host b.example.com, *.x.example.com\n"
        "│   ├── /a/{y}  -> m:ay(y)  [None: /{x}/b or /a]\n"
        "│   ├── /{x}/b  -> m:xb\n"
        "│   ├── /a      -> m:a\n"
        "│   └── /b      -> m:b\n"
        "├── host {a}.{b}.example.com\n"
        "│   └── /       -> m:ab\n"
        "├── host {a}.example.com:8080\n"
        "│   └── /       -> m:port(a)  [None: 404]\n"
        "├── host {a}.example.com\n"
        "│   └── /z      -> status 410\n"
        "├── host *.example.com\n"
        "│   └── /       -> m:star\n"
        "└── default\n"
        "    └── /       -> m:other\n"
    )


def test_fallbacks_depend_on_the_path():
    plan = plan_of(
        "f.disp",
        b"/a/{x} -> m:f(x)\n/{y}/b -> m:g\n/a -> m:h\n/ -> m:i\n/{z} -> m:k(z)\n",
    )
    text = render_tree(plan, "f.disp")
    # /a/b goes to /{y}/b, /a/c to /a, which matches every path /a/{x} matches.
    assert "/a/{x}  -> m:f(x)  [None: /{y}/b or /a]" in text
    assert "/{z}    -> m:k(z)  [None: /]" in text


def test_empty_tables():
    assert render_tree(plan_of("e.disp", b""), "e.disp") == (
        "e.disp\n└── (no routes: every request gets 404)\n"
    )
    text = render_tree(plan_of("e.disp", b"host a.com {\n}\n"), "e.disp")
    assert text == "e.disp\n└── host a.com\n    └── (no routes: every path gets 404)\n"
    for fmt in ("dot", "mermaid", "json"):
        render(plan_of("e.disp", b""), fmt, "e.disp")


# -- statement order never matters ---------------------------------------------------------


def statements(text: str) -> list[str]:
    """Top-level statements of a file without comments (blocks kept whole)."""
    out: list[str] = []
    block: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if block:
            block.append(line)
            if line.strip() == "}":
                out.append("\n".join(block))
                block = []
        elif line.startswith(("host ", "default")) and line.rstrip().endswith("{"):
            block = [line]
        else:
            out.append(line)
    assert not block
    return out


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_output_does_not_depend_on_statement_order(source: Path):
    text = source.read_text(encoding="utf-8")
    parts = statements(text)
    assert len(parts) >= 4
    reordered = "\n".join(reversed(parts)) + "\n"
    a = plan_of("r.disp", text.encode())
    b = plan_of("r.disp", reordered.encode())
    for fmt in ("tree", "dot", "mermaid"):
        assert render(a, fmt, "r.disp") == render(b, fmt, "r.disp"), fmt

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("line", "column")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    assert strip(table_json(a, "r.disp")) == strip(table_json(b, "r.disp"))


# -- json -----------------------------------------------------------------------------------


def doc_schema() -> dict[str, Any]:
    for match in FENCE.finditer(DOC.read_text(encoding="utf-8")):
        if match.group("lang") == "json" and '"$schema"' in match.group("body"):
            return json.loads(match.group("body"))
    raise AssertionError("no JSON Schema in docs/explain-and-show.md")


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}


def validate(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$") -> None:
    """The JSON Schema keywords the documented schema uses; any other is an error."""
    for key, rule in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "$ref":
            assert rule.startswith("#/$defs/"), rule
            validate(value, root["$defs"][rule[len("#/$defs/") :]], root, where)
        elif key == "type":
            types = rule if isinstance(rule, list) else [rule]
            assert any(_TYPES[t](value) for t in types), f"{where}: {value!r} is not {rule}"
        elif key == "const":
            assert value == rule and type(value) is type(rule), f"{where}: {value!r} != {rule!r}"
        elif key == "enum":
            assert value in rule, f"{where}: {value!r} not in {rule}"
        elif key in ("minimum", "maximum"):
            if _TYPES["integer"](value):
                assert (value >= rule) if key == "minimum" else (value <= rule), where
        elif key == "minItems":
            assert not isinstance(value, list) or len(value) >= rule, where
        elif key == "required":
            if isinstance(value, dict):
                missing = [k for k in rule if k not in value]
                assert not missing, f"{where}: missing {missing}"
        elif key == "properties":
            if isinstance(value, dict):
                for name, sub in rule.items():
                    if name in value:
                        validate(value[name], sub, root, f"{where}.{name}")
        elif key == "additionalProperties":
            assert rule is False, key
            if isinstance(value, dict):
                extra = set(value) - set(schema.get("properties", {}))
                assert not extra, f"{where}: unexpected {sorted(extra)}"
        elif key == "items":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    validate(item, rule, root, f"{where}[{i}]")
        elif key == "oneOf":
            passed = 0
            for sub in rule:
                try:
                    validate(value, sub, root, where)
                except AssertionError:
                    continue
                passed += 1
            assert passed == 1, f"{where}: {value!r} matches {passed} of oneOf"
        else:
            raise AssertionError(f"the validator does not know the keyword {key!r}")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_json_matches_the_documented_schema(source: Path):
    schema = doc_schema()
    data = json.loads(render(plan_for(source), "json", display(source)))
    validate(data, schema, schema)
    assert data["version"] == 1 and data["file"] == display(source)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(version=2),
        lambda d: d.update(extra=1),
        lambda d: d["blocks"][0]["routes"][0]["target"].update(kind="wsgi"),
        lambda d: d["blocks"][0]["routes"][0].pop("segments"),
        lambda d: d["blocks"][0]["patterns"][0].update(port=0),
        lambda d: d["blocks"][0]["patterns"][0].update(kind="regex"),
        lambda d: d["host_order"].append({"pattern": 1, "block": 0}),
        lambda d: d["uses"][0]["target"].update(lazy="no"),
    ],
)
def test_schema_validator_rejects_wrong_shapes(change):
    schema = doc_schema()
    source = SAMPLES / "flask_dispatching.disp"
    data = json.loads(render(plan_for(source), "json", display(source)))
    change(data)
    with pytest.raises(AssertionError):
        validate(data, schema, schema)


def target_source(target: dict[str, Any]) -> str:
    kind = target["kind"]
    if kind in ("app", "factory"):
        text = f"{target['module']}:{target['attr']}"
        if kind == "factory":
            args = [
                disp_string(a["value"]) if a["kind"] == "str" else str(a["value"])
                for a in target["args"]
            ]
            text += f"({', '.join(args)}) cache {target['cache']}"
        return text + (" lazy" if target["lazy"] else "") + (" wsgi" if target["wsgi"] else "")
    if kind == "status":
        return f"status {target['code']}"
    return f"redirect {target['code']} {disp_string(target['url'])}"


def without_uses(table: RouteTable) -> RouteTable:
    def block(b: Block) -> Block:
        return Block(b.patterns, tuple(Route(r.path, r.target) for r in b.routes))

    default = None if table.default is None else block(table.default)
    return RouteTable((), tuple(block(b) for b in table.blocks), default)


def comparable(table: RouteTable) -> list[tuple[tuple[str, ...], list[str]]]:
    return sorted(
        (tuple(sorted(p.text for p in b.patterns)), sorted(repr(r) for r in b.routes))
        for b in table.all_blocks()
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_json_holds_the_whole_table(source: Path):
    """A routing file written from the JSON alone compiles to the same table
    (the ``use`` names aside: routes are written with their targets)."""
    plan = plan_for(source)
    table = plan.table
    data = table_json(plan, "x.disp")
    lines = []
    for block in data["blocks"]:
        patterns = ", ".join(p["text"] for p in block["patterns"])
        lines.append("default {" if block["default"] else f"host {patterns} {{")
        lines += [f"    {r['path']} -> {target_source(r['target'])}" for r in block["routes"]]
        lines.append("}")
    rebuilt = load_table("x.disp", ("\n".join(lines) + "\n").encode())
    assert comparable(rebuilt) == comparable(without_uses(table))
    # Segments in PATH_INFO form, patterns and host order as in the plan.
    for block, ir_block in zip(data["blocks"], plan.blocks, strict=True):
        for route, ir_route in zip(block["routes"], ir_block.routes, strict=True):
            assert route["segments"] == [
                {"kind": "literal", "value": seg.literal}
                if seg.literal is not None
                else {"kind": "capture", "value": seg.capture}
                for seg in ir_route.path.segments
            ]
    order = [(h["pattern"], h["block"]) for h in data["host_order"]]
    assert sorted(order) == sorted(
        (p["text"], i) for i, b in enumerate(data["blocks"]) for p in b["patterns"]
    )
    patterns = {p.text: p for b in table.blocks for p in b.patterns}
    weights = [patterns[t].weight for t, _ in order]
    assert weights == sorted(weights)


# -- dot -------------------------------------------------------------------------------------

_DOT_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<id>[A-Za-z_][A-Za-z_0-9]*|\d+)|(?P<op>->|[{}\[\];=,]))'
)


def dot_tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    at = 0
    while text[at:].strip():
        match = _DOT_TOKEN.match(text, at)
        assert match, f"cannot read DOT at {text[at : at + 40]!r}"
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        at = match.end()
    return tokens


def dot_string(token: str) -> str:
    """A DOT quoted string's text as Graphviz draws it in a label."""
    body = token[1:-1]
    text = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), body)
    return html.unescape(text)  # Graphviz decodes HTML entities in labels


class DotGraph:
    """Parse the subset of DOT that ``show`` writes."""

    def __init__(self, text: str):
        self.tokens = dot_tokens(text)
        self.at = 0
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.clusters: list[str] = []
        self.expect("id", "digraph")
        self.expect("id")
        self.expect("op", "{")
        self.statements()
        assert self.at == len(self.tokens), "text after the graph"

    def next(self) -> tuple[str, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, kind: str, value: str | None = None) -> str:
        got = self.next()
        assert got[0] == kind and (value is None or got[1] == value), (got, kind, value)
        return got[1]

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at]

    def attrs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.peek() != ("op", "["):
            return out
        self.next()
        while self.peek() != ("op", "]"):
            name = self.expect("id")
            self.expect("op", "=")
            kind, value = self.next()
            assert kind in ("id", "str"), value
            out[name] = dot_string(value) if kind == "str" else value
            if self.peek() == ("op", ","):
                self.next()
        self.next()
        return out

    def statements(self) -> None:
        while True:
            kind, value = self.next()
            if (kind, value) == ("op", "}"):
                return
            assert kind == "id", value
            if value == "subgraph":
                self.clusters.append(self.expect("id"))
                self.expect("op", "{")
                self.statements()
                continue
            if value in ("node", "edge"):
                self.attrs()
            elif self.peek() == ("op", "="):
                self.next()
                self.next()
            elif self.peek() == ("op", "->"):
                self.next()
                dst = self.expect("id")
                self.edges.append((value, dst, self.attrs()))
            else:
                assert value not in self.nodes, f"node {value} declared twice"
                self.nodes[value] = self.attrs()
            self.expect("op", ";")


def expected_labels(table: RouteTable) -> set[str]:
    labels = {r.path.text for b in table.all_blocks() for r in b.routes}
    return labels | {p.text for b in table.blocks for p in b.patterns}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_dot_parses(source: Path):
    table = plan_for(source).table
    text = render(plan_for(source), "dot", display(source))
    graph = DotGraph(text)  # checks that every "{" is closed, and nothing follows
    assert graph.tokens.count(("op", "{")) == graph.tokens.count(("op", "}"))
    for src, dst, _ in graph.edges:
        assert src in graph.nodes and dst in graph.nodes, (src, dst)
    labels = {attrs["label"] for attrs in graph.nodes.values()}
    assert expected_labels(table) <= labels
    assert all(c.startswith("cluster_") for c in graph.clusters)
    assert len(graph.clusters) == len(table.all_blocks())


def _target_label(target: Target) -> str:
    """The label of the node a route's target is drawn as."""
    if isinstance(target, (AppTarget, FactoryTarget)):
        return f"{target.module}:{target.attr}"
    if isinstance(target, StatusTarget):
        return f"status {target.code}"
    return f"redirect {target.code} {disp_string(target.url)}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_a_dot_parser_reads_the_table(source: Path):
    """pydot, a DOT parser independent of the one above, reads what the table
    says: one cluster per block holding its hosts and routes, the request
    joined to every host, every host to every route of its block, and every
    route to its target."""
    table = plan_for(source).table
    text = render(plan_for(source), "dot", "x")
    with warnings.catch_warnings():
        # pydot builds its grammar with pyparsing names that newer pyparsing
        # releases deprecate: warnings about pydot, not about this text.
        warnings.simplefilter("ignore")
        graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1
    [graph] = graphs

    def label(element: Any) -> str:
        return dot_string(element.get("label"))

    outside = {
        n.get_name(): label(n) for n in graph.get_nodes() if n.get_name() not in ("node", "edge")
    }
    edges: dict[tuple[str, str], str] = {}
    for edge in graph.get_edges():
        key = (edge.get_source(), edge.get_destination())
        assert key not in edges, f"edge {key} drawn twice"
        edges[key] = dot_string(edge.get("label") or '""')
    clusters = graph.get_subgraphs()
    assert len(clusters) == len(table.all_blocks())
    shown = []
    all_heads = set()
    for cluster in clusters:
        assert cluster.get_name().startswith("cluster_")
        assert not cluster.get_subgraphs()
        nodes = {n.get_name(): label(n) for n in cluster.get_nodes()}
        heads = {nid for nid, text in nodes.items() if not text.startswith("/")}
        routes = {text: nid for nid, text in nodes.items() if text.startswith("/")}
        assert len(routes) == len(nodes) - len(heads), "two routes of one block drawn twice"
        all_heads |= heads
        title = label(cluster)
        hosts = set(title.removeprefix("host ").split(", ")) if title.startswith("host ") else None
        assert hosts is not None or title.startswith("default"), title
        shown.append((hosts, sorted(nodes.values())))
        # Every host of the block leads to every route of the block.
        for head in heads:
            assert {dst for src, dst in edges if src == head} == set(routes.values())
        targets = {}
        for path, nid in routes.items():
            out = [dst for src, dst in edges if src == nid and dst in outside]
            assert len(out) == 1, (path, out)
            targets[path] = outside[out[0]]
            # Any other edge from a route is a fallback to a route of its block.
            others = [(dst, edges[nid, dst]) for src, dst in edges if src == nid and dst != out[0]]
            assert all(dst in routes.values() and text == "None" for dst, text in others)
        block = next(
            b
            for b in table.all_blocks()
            if (hosts is None and b.is_default)
            or (hosts is not None and {p.text for p in b.patterns} == hosts)
        )
        assert targets == {r.path.text: _target_label(r.target) for r in block.routes}
    expected = []
    for block in table.all_blocks():
        hosts = None if block.is_default else {p.text for p in block.patterns}
        heads = [p.text for p in block.patterns]
        if block.is_default:
            heads = ["other hosts" if table.has_hosts else "any host"]
        expected.append((hosts, sorted(heads + [r.path.text for r in block.routes])))
    key = repr
    assert sorted(shown, key=key) == sorted(expected, key=key)
    # The request leads to every host, and to nothing else.
    assert {dst for src, dst in edges if src == "req"} == all_heads
    assert outside["req"] == "request"


# -- mermaid ---------------------------------------------------------------------------------

_SHAPES = {
    ("((", "))"),
    ("{{", "}}"),
    ("[[", "]]"),
    ("([", "])"),
    ("[", "]"),
    ("(", ")"),
    (">", "]"),
}
_NODE = re.compile(r'^ +(?P<id>[A-Za-z]\w*)(?P<open>[\[({>]+)"(?P<label>[^"]*)"(?P<close>[\])}]+)$')
_EDGE = re.compile(r'^ +(?P<src>\w+) (?:-->|-\.->)(?:\|"(?P<label>[^"]*)"\|)? (?P<dst>\w+)$')
_SUBGRAPH = re.compile(r'^ +subgraph (?P<id>\w+) \["(?P<label>[^"]*)"\]$')


def mermaid_text(label: str) -> str:
    """A label as mermaid shows it: entity codes decoded."""
    named = {"quot": '"', "amp": "&", "lt": "<", "gt": ">"}

    def decode(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code)) if code.isdigit() else named[code]

    return re.sub(r"#(\w+);", decode, label)


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]], list[str]]:
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    subgraphs: list[str] = []
    depth = 0
    for line in lines[1:]:
        if match := _SUBGRAPH.match(line):
            subgraphs.append(mermaid_text(match["label"]))
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0
        elif match := _EDGE.match(line):
            edges.append((match["src"], match["dst"], mermaid_text(match["label"] or "")))
        elif match := _NODE.match(line):
            assert (match["open"], match["close"]) in _SHAPES, line
            assert match["id"] not in nodes
            nodes[match["id"]] = mermaid_text(match["label"])
        else:
            raise AssertionError(f"cannot read mermaid line {line!r}")
    assert depth == 0
    return nodes, edges, subgraphs


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_mermaid_parses(source: Path):
    table = plan_for(source).table
    text = render(plan_for(source), "mermaid", display(source))
    assert text.startswith("flowchart")
    nodes, edges, subgraphs = parse_mermaid(text)
    for src, dst, _ in edges:
        assert src in nodes and dst in nodes, (src, dst)
    assert expected_labels(table) <= set(nodes.values())
    assert len(subgraphs) == len(table.all_blocks())
    reserved = {"end", "graph", "subgraph", "flowchart", "style", "class", "click"}
    assert not reserved & set(nodes)
    # Mermaid rewrites a line where "style" or "classDef" is followed by ":" and "#".
    for line in text.splitlines():
        assert not re.search(r"style.*:\S*#.*;", line) and "classDef" not in line, line


def test_adversarial_labels_round_trip():
    source = CASES_DIR / "adversarial.disp"
    plan = plan_for(source)
    nodes, edges, _ = parse_mermaid(render(plan, "mermaid", "a.disp"))
    dot = DotGraph(render(plan, "dot", "a.disp"))
    tricky = {'/a"b/{t2}', "/[x]/c\\d", "/&amp;|`<b>`;end", '/style:"x";', "/café/(x)"}
    assert tricky <= set(nodes.values())
    assert tricky <= {a["label"] for a in dot.nodes.values()}
    factory_edge = '("a\\"b", "c\\\\d", "{x}", "}}") cache 0 lazy use q'
    assert factory_edge in {label for _, _, label in edges}
    assert factory_edge in {a.get("label") for _, _, a in dot.edges}
    assert 'redirect 302 "/r?a=1&b=2#{{frag}}{path}"' in set(nodes.values())


# -- the documentation ------------------------------------------------------------------------


def test_doc_mermaid_picture_is_the_flask_sample():
    blocks = [m["body"] for m in FENCE.finditer(DOC.read_text("utf-8")) if m["lang"] == "mermaid"]
    plan = plan_for(SAMPLES / "flask_dispatching.disp")
    assert blocks == [render_mermaid(plan)]


def test_doc_show_examples_are_true(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    examples = 0
    for match in FENCE.finditer(DOC.read_text(encoding="utf-8")):
        body = match["body"]
        if match["lang"] == "text" and body.startswith("$ dispatchc show "):
            command, _, printed = body.partition("\n")
            assert main(shlex.split(command)[2:]) == 0
            assert capsys.readouterr().out == printed, command
            examples += 1
    assert examples >= 1


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
def test_cli_show(fmt, capsys):
    source = SAMPLES / "tenants.disp"
    assert main(["show", str(source), "--format", fmt]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == render(plan_for(source), fmt, str(source))


def test_cli_show_default_format_is_tree(capsys):
    assert main(["show", str(SAMPLES / "mounts.disp")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "└── default (no host blocks: any host)"


def test_cli_show_errors(capsys, tmp_path):
    broken = ROOT / "tests" / "broken" / "undefined_name.disp"
    assert main(["show", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[E101]" in err
    missing = tmp_path / "missing.disp"
    assert main(["show", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"dispatchc: error: cannot read {missing}: No such file or directory\n"
    assert main(["show", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["show", str(SAMPLES / "mounts.disp"), "--format", "svg"])
    assert exc.value.code == 2


# -- control characters (SPEC §6: no command prints one taken from a routing file) ------------

#: A string argument may hold any character but a line break: an escape
#: sequence, a bell, DEL, a C1 CSI (U+009B) and bidi controls.
CONTROLS = '/ -> m:f("\x1b[31mred\x07\x9b\u202ex\u2066y\x7f")\n'


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
def test_no_control_character_reaches_the_terminal(fmt, tmp_path, capsys):
    path = tmp_path / "routes.disp"
    path.write_text(CONTROLS, encoding="utf-8")
    assert main(["show", str(path), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert all(c == "\n" or c.isprintable() for c in out), ascii(out)


def test_control_characters_are_shown_as_the_diagnostics_show_them():
    plan = plan_of("routes.disp", CONTROLS.encode("utf-8"))
    shown = 'm:f("\ufffd[31mred\ufffd\ufffd\ufffdx\ufffdy\ufffd")'
    assert render(plan, "tree", "routes.disp").splitlines()[2] == (
        f"    └── /  -> {shown}  [None: 404]"
    )
    bad = "\ufffd[31mred\ufffd\ufffd\ufffdx\ufffdy\ufffd"
    dot = render(plan, "dot", "routes.disp").splitlines()
    assert f'  r0_0 -> t0 [label="(\\"{bad}\\")"];' in dot
    mermaid = render(plan, "mermaid", "routes.disp").splitlines()
    assert f'  r0_0 -->|"(#quot;{bad}#quot;)"| t0' in mermaid


def test_json_escapes_control_characters_and_keeps_the_data():
    plan = plan_of("routes.disp", CONTROLS.encode("utf-8"))
    text = render(plan, "json", "routes.disp")
    assert '"value": "\\u001b[31mred\\u0007\\u009b\\u202ex\\u2066y\\u007f"' in text
    route = json.loads(text)["blocks"][0]["routes"][0]
    assert route["target"]["args"][0]["value"] == "\x1b[31mred\x07\x9b\u202ex\u2066y\x7f"
