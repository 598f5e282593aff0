"""``dispatchc.targets.python.select``: a generated module gets exactly the
run-time definitions it uses, copied by name.

``Runtime.select`` copies the transitive closure of what the per-file code
names (closed: every name a copied definition uses is there; minimal:
every copied definition is used); ``scan``, the lexical scan that finds
those names cheaply, equals what ``ast`` finds in the per-file part of every
golden, sample and random table; the imports it writes are sorted as
isort (ruff's ``I`` rules) wants.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load
from dispatchc.targets.python.select import Runtime, scan
from dispatchc.targets.wsgi.target import RUNTIME_MODULES, context, environment, runtime

from ...helpers import ROOT, SAMPLES, reachable, top_level
from ...strategies import tables

RUNTIME = runtime()
#: Every name the runtime modules define (the stand-in tables aside).
DEFINED = sorted(RUNTIME._by_name)
STAND_INS = sorted(RUNTIME._provided)
IMPORTED = sorted(RUNTIME._imports)
#: Per-file code that defines the stand-in tables, as a generated module does.
TABLES = "".join(f"{name} = None\n" for name in STAND_INS)


def selected_code(selection) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(selection.imports) + "\n\n" + selection.code() + "\n"


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(DEFINED), max_size=6))
def test_select_copies_exactly_the_transitive_closure(roots):
    selection = RUNTIME.select(TABLES, roots=roots)
    code = selected_code(selection)
    graph = top_level(code)
    imported = {line.split()[-1] for line in selection.imports}
    # Closed: each name a copied definition refers to that is not its own
    # local is copied, imported, a stand-in table or a builtin; running the
    # code binds every root.
    namespace: dict[str, object] = {name: None for name in STAND_INS}
    exec(compile(code, "<selected>", "exec"), namespace)
    for root in roots:
        assert root in namespace
    for name, uses in graph.items():
        for used in uses:
            if used.startswith(("_dc", "_Dc", "_DC")) or used in IMPORTED:
                assert used in graph or used in imported or used in STAND_INS, (name, used)
    # Minimal: every definition and import is reached from the roots.
    assert set(graph) == reachable(graph, tuple(roots))
    reached_uses = set().union(*(graph[n] for n in graph)) if graph else set()
    assert imported <= reached_uses
    # In the order the runtime modules define them.
    order = [d for d in RUNTIME._definitions if d.names & set(graph)]
    assert list(selection.definitions) == order


def test_select_of_the_entry_point_pulls_in_the_host_machinery():
    selection = RUNTIME.select(TABLES, roots=["application"])
    names = {n for d in selection.definitions for n in d.names}
    assert {"_dc_host", "_dc_select", "_dc_lookup", "_dc_normal_host", "_dc_split_host"} <= names
    assert "_DcCache" not in names and "_dc_walker" not in names
    # ipaddress for IPv6 hosts; quote for the redirects that _DcStatus,
    # dispatchc's own 400, also answers
    assert selection.imports == ("import ipaddress", "from urllib.parse import quote")


def test_what_the_per_file_code_defines_is_not_copied():
    # A module that defines _dc_select itself (the by-port variant) gets
    # no copy of the memo version.
    selection = RUNTIME.select(TABLES + "_dc_select = _dc_select_by_port\n", ["application"])
    names = {n for d in selection.definitions for n in d.names}
    assert "_dc_select_by_port" in names and "_dc_select" not in names


def test_a_missing_table_is_an_error():
    with pytest.raises(LookupError, match="the generated module must define _DC_"):
        RUNTIME.select("x = _dc_lookup\n")


def test_runtime_modules_are_plain_python():
    for module in RUNTIME_MODULES:
        __import__(module)
    assert Runtime(RUNTIME_MODULES)._by_name.keys() == RUNTIME._by_name.keys()


# -- scan -------------------------------------------------------------------------------

_RUNTIME_LIKE = re.compile(r"_[dD][cC]_?\w*|application")


def ast_scan(code: str) -> tuple[set[str], set[str]]:
    """What ``scan`` finds, found with ``ast``: every runtime-like name the
    code mentions (outside strings and comments), and the names it binds at
    top level."""
    tree = ast.parse(code)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            names.add(node.arg)
        elif isinstance(node, ast.Global):
            names.update(node.names)
    used = {n for n in names if _RUNTIME_LIKE.fullmatch(n)}
    return used, set(top_level(code))


def per_file(text: str) -> str:
    """The per-file part of a WSGI module: what ``select`` is given."""
    plan = load("routes.disp", text.encode("utf-8")).plan
    assert plan is not None
    return environment().get_template("module.py.j2").render(context(plan))


SOURCES = sorted(ROOT.glob("tests/targets/*/cases/*/routes.disp")) + sorted(SAMPLES.glob("*.disp"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_scan_equals_an_ast_scan_on_goldens_and_samples(source: Path):
    code = per_file(source.read_text(encoding="utf-8"))
    assert scan(code) == ast_scan(code)


@settings(max_examples=60, deadline=None)
@given(tables())
def test_scan_equals_an_ast_scan_on_random_tables(spec):
    code = per_file(spec.source())
    assert scan(code) == ast_scan(code)


def test_scan_skips_strings_and_comments():
    code = "x = '_dc_in_a_string'  # _dc_in_a_comment\ny = \"it's _dc_q\" + _dc_real\n"
    assert scan(code) == ({"_dc_real"}, {"x", "y"})


# -- imports ------------------------------------------------------------------------------


def test_imports_are_sorted_as_isort_wants(tmp_path):
    """Every set of imports ``select`` can write passes ruff's I rules."""
    files = []
    for size in range(1, len(IMPORTED) + 1):
        for names in itertools.combinations(IMPORTED, size):
            selection = RUNTIME.select(TABLES, roots=names)
            path = tmp_path / f"imports_{len(files)}.py"
            path.write_text(
                '"""Imports."""\n\n' + "\n".join(selection.imports) + "\n\nX = 1\n",
                encoding="utf-8",
            )
            files.append(path)
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "I"]
        + [str(p) for p in files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(files) == 2 ** len(IMPORTED) - 1
    assert not set(dir(builtins)) & set(IMPORTED)
