"""Copy into a generated module the run-time definitions it uses, by name.

The run time is written as ordinary modules (``runtime/`` here and in each
target's folder). ``Runtime`` reads their source once and knows, for each
top-level statement, the names it defines and the names it refers to.
``Runtime.select`` takes the per-file code a target rendered and returns
the imports and definitions that code needs, transitively, in the order
the runtime modules define them: a generated module holds nothing it does
not use, by construction. Imports between runtime modules are dropped (the
definitions themselves are copied), and the stand-in tables of a
``tables`` module are never copied: the generated module defines its own.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    names: frozenset[str]  # the names the statement binds
    uses: frozenset[str]  # the names it refers to (over-approximated)
    text: str  # its source, with the comments just above it
    is_def: bool  # a def or class (two blank lines around it)


@dataclass(frozen=True)
class Selection:
    imports: tuple[str, ...]  # import lines, sorted as isort does ("" between sections)
    definitions: tuple[Definition, ...]  # in runtime order

    def code(self, names: Iterable[str] | None = None) -> str:
        """The source of the selected definitions (those binding one of
        ``names`` only, when given), with PEP 8 blank lines."""
        wanted = None if names is None else set(names)
        chunks = [d for d in self.definitions if wanted is None or d.names & wanted]
        return join(chunks)


def join(chunks: Iterable[Definition]) -> str:
    out: list[str] = []
    previous: Definition | None = None
    for chunk in chunks:
        if previous is not None:
            out.append("\n\n\n" if chunk.is_def or previous.is_def else "\n")
        out.append(chunk.text)
        previous = chunk
    return "".join(out)


#: In per-file code (which is all one-line strings from repr(), comments
#: and names): a string or a comment, else a name the runtime may define.
_TOKENS = re.compile(
    r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\b(_[dD][cC]_?\w*|application)\b"""
)
_DEFINED = re.compile(r"^(?:def |class )?([A-Za-z_]\w*)(?: = |\()", re.MULTILINE)


def scan(code: str) -> tuple[set[str], set[str]]:
    """The runtime-like names per-file ``code`` uses, and those it defines
    at top level: a lexical scan, linear and cheap on a 100,000-route
    module (tests hold it equal to what ``ast`` finds)."""
    used = {m for m in _TOKENS.findall(code) if m}
    return used, set(_DEFINED.findall(code))


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        name for n in ast.walk(node) if isinstance(n, ast.Global) for name in n.names
    }


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    raise TypeError(f"unexpected top-level statement in a runtime module: {ast.dump(node)[:80]}")


class Runtime:
    """The top-level definitions of some runtime modules, by name."""

    def __init__(self, modules: Iterable[str]):
        # bound name -> ("", module) for ``import module``, (module, name) for ``from``
        self._imports: dict[str, tuple[str, str]] = {}
        self._definitions: list[Definition] = []
        self._provided: set[str] = set()  # stand-ins the generated module defines
        for module in modules:
            self._read(module)
        self._by_name = {n: d for d in self._definitions for n in d.names}

    def _read(self, module: str) -> None:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ImportError(module)
        with open(spec.origin, encoding="utf-8") as handle:
            text = handle.read()
        lines = text.splitlines()
        tree = ast.parse(text)
        body = tree.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the module docstring
        stand_ins = module.rsplit(".", 1)[-1] == "tables"
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                if isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__"):
                    continue  # another runtime module: its definitions are copied
                for alias in node.names:
                    if alias.asname:
                        raise ValueError(f"{module}: runtime imports take no 'as'")
                    bound = alias.asname or alias.name.split(".")[0]
                    if isinstance(node, ast.Import):
                        self._imports[bound] = ("", alias.name)
                    else:
                        self._imports[bound] = (str(node.module), alias.name)
                continue
            names = _bound_names(node)
            if stand_ins:
                self._provided |= names
                continue
            start = node.lineno - 1
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([start] + [d.lineno - 1 for d in node.decorator_list])
            while start > 0 and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            end = node.end_lineno or node.lineno
            self._definitions.append(
                Definition(
                    frozenset(names),
                    frozenset(_used_names(node) - names),
                    "\n".join(lines[start:end]),
                    isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef),
                )
            )

    def select(self, code: str, roots: Iterable[str] = ()) -> Selection:
        """What ``code`` (per-file source) needs, and ``roots`` besides."""
        used, defined = scan(code)
        wanted: set[str] = set()
        todo = [*roots, *(used - defined)]
        while todo:
            name = todo.pop()
            if name in wanted or name in defined:
                continue
            wanted.add(name)
            found = self._by_name.get(name)
            if found is not None:
                todo.extend(found.uses)
            elif name in self._provided:
                raise LookupError(f"the generated module must define {name}")
        definitions = tuple(d for d in self._definitions if d.names & wanted)
        plain = sorted(
            {self._imports[n][1] for n in wanted if n in self._imports and not self._imports[n][0]}
        )
        froms: dict[str, list[str]] = {}
        for n in sorted(wanted):
            if n in self._imports and self._imports[n][0]:
                froms.setdefault(self._imports[n][0], []).append(self._imports[n][1])
        sections: list[list[str]] = [[], []]  # the standard library's, then others'
        for m in plain:
            sections[_third_party(m)].append(f"import {m}")
        for m, names in sorted(froms.items()):
            sections[_third_party(m)].append(f"from {m} import {', '.join(sorted(names))}")
        imports = sections[0] + ([""] if all(sections) else []) + sections[1]
        return Selection(tuple(imports), definitions)


def _third_party(module: str) -> int:
    """1 for a module outside the standard library (a2wsgi), else 0: its
    section of the imports, as isort orders them."""
    return int(module.split(".")[0] not in sys.stdlib_module_names)
