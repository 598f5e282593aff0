"""From the plan to the data a Python target's template renders.

Every value from the routing file reaches generated source through
``pyrepr`` (``repr`` of a str, int, bool or None, or tuples of them); every
name is made here, from identity (``dispatchc.plan.names``), with a
``_dc_`` prefix. Templates get structured data (names, literals already
repr'd, capture sources), never fragments of Python to paste.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from ...ir import AppTarget, FactoryTarget, RedirectTarget
from ...ir import status_line as status_line
from ...plan import BlockPlan, Plan, RoutePlan
from ...plan.names import LIMIT, digest, identifier, unique

_SAFE_TYPES = (str, int, bool, type(None))

#: Walkers are unrolled up to this many segments; deeper tables loop.
UNROLL = 4


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


def walker(depth: int) -> str:
    """The name of the walker for a depth (see ``runtime/walk.py``)."""
    return f"_dc_walk_{depth}"


@dataclass
class Load:
    name: str
    module: str
    attr: str
    lazy: bool
    comment: str


@dataclass
class Names:
    """Every generated name of one module."""

    loads: dict[tuple[str, str, bool, bool], Load] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> Names:
        refs: dict[tuple[str, str, bool, bool], str] = {}
        for block in plan.blocks:
            for route in block.routes:
                target = route.target
                if isinstance(target, AppTarget | FactoryTarget):
                    factory = isinstance(target, FactoryTarget)
                    key = (target.module, target.attr, target.lazy, factory)
                    kind = ("lazy_" if target.lazy else "") + ("factory" if factory else "app")
                    base = f"_dc_{kind}_{identifier(target.module)}__{identifier(target.attr)}"
                    refs[key] = base
        final = unique((repr(k), base) for k, base in refs.items())
        names = cls()
        for key in sorted(refs):
            module, attr, lazy, _factory = key
            text = f"{module}:{attr}" + (" (lazy)" if lazy else "")
            names.loads[key] = Load(final[repr(key)], module, attr, lazy, comment(text))
        return names

    def load(self, target: AppTarget | FactoryTarget) -> str:
        factory = isinstance(target, FactoryTarget)
        return self.loads[(target.module, target.attr, target.lazy, factory)].name

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

    @staticmethod
    def states(block: BlockPlan, skip: Container[int] = ()) -> dict[int, str]:
        """A name per state (by index), from the steps that lead to it;
        none for the states in ``skip`` (which must have no children)."""
        keys: list[str] = [""] * len(block.states)
        readable: list[str] = [""] * len(block.states)
        # Parents come after children (the root is last): walk backwards.
        for state in reversed(block.states):
            if state.parent is None or state.index in skip:
                continue
            step = "\0" if state.step is None else state.step
            keys[state.index] = digest(keys[state.parent] + "/" + step, 16)
            part = "any" if state.step is None else identifier(state.step)
            readable[state.index] = readable[state.parent] + "__" + part
        bases = []
        for state in block.states:
            if state.index in skip:
                continue
            text = readable[state.index]
            if len(text) > LIMIT:
                text = text[:LIMIT].rstrip("_") + "_" + keys[state.index][:8]
            bases.append((keys[state.index], f"_dc_state_{block.name}{text}"))
        final = unique(bases)
        indexes = [s.index for s in block.states if s.index not in skip]
        return {index: final[key] for index, (key, _) in zip(indexes, bases, strict=True)}


def target_comment(route: RoutePlan) -> str:
    """``path -> target`` as written (the ``use`` name when there is one)."""
    return comment(f"{route.path.text} -> {route.route.target_text}")


def route_names(block: BlockPlan, route: RoutePlan) -> tuple[str, ...]:
    """Its ``dispatchc.route`` for each pattern of its block."""
    return tuple(block.route_name(route, i) for i in range(len(block.prefixes)))


def host_captures(block: BlockPlan) -> bool:
    """Whether some pattern of the block captures labels of the host."""
    return any(p.captures for p in block.patterns)


def is_static(block: BlockPlan, route: RoutePlan) -> bool:
    """Whether handling the route needs nothing but constants: no capture
    (host or path), no factory, no redirect that substitutes."""
    target = route.target
    if isinstance(target, FactoryTarget) or route.path.captures or host_captures(block):
        return False
    return not (isinstance(target, RedirectTarget) and any(p.kind != "text" for p in target.parts))


def leaves(block: BlockPlan) -> dict[int, RoutePlan]:
    """The states written as one line in their parent (``_dc_leaves``), with
    their route: a literal route with nothing to substitute, whose state no
    other route continues (no children, nothing else in its chain but its
    parent's), and whose path is written as PATH_INFO holds it (ASCII), so
    that the run time can rebuild its state from the segment and the app."""
    found: dict[int, RoutePlan] = {}
    for state in block.states:
        if state.parent is None or state.step is None or state.children or state.other is not None:
            continue
        parent = block.states[state.parent]
        if len(state.chain) != len(parent.chain) + 1 or state.chain[1:] != parent.chain:
            continue
        route = block.routes[state.chain[0]]
        if (
            len(route.path.segments) == state.depth
            and is_static(block, route)
            and route.path.text == route.script
        ):
            found[state.index] = route
    return found


def state_rows(
    block: BlockPlan,
    route_name: dict[int, str],
    found: dict[int, RoutePlan],
    leaf_app: dict[int, Any],
) -> list[dict[str, Any]]:
    """The states of a block as the templates write them: the ``found``
    leaves (``leaves(block)``) inside their parent, ``leaf_app`` giving
    what each leaf's route calls."""
    names = Names.states(block, found)
    rows = []
    for state in block.states:
        if state.index in found:
            continue
        chain = [route_name[r] for r in state.chain]
        script = None
        row_leaves = [
            (pyrepr(key), leaf_app[child], target_comment(found[child]))
            for key, child in state.children
            if child in found
        ]
        if row_leaves:
            assert state.step is not None or state.parent is None
            script = found[next(c for _, c in state.children if c in found)].script
            script = script[: script.rindex("/")]
        rows.append(
            {
                "name": names[state.index],
                "children": [
                    (pyrepr(key), names[child])
                    for key, child in state.children
                    if child not in found
                ],
                "other": "None" if state.other is None else names[state.other],
                "first": chain[0] if chain else "None",
                "rest": chain[1:],
                "leaves": row_leaves,
                "script": script,
            }
        )
    return rows


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
