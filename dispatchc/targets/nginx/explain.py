"""``dispatchc explain --target nginx``: what the edge does differently for
one request (the N2xx codes of docs/diagnostics.md, and N104)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from ...diagnostics import CODES, printable_lines
from ...ir import RouteTable


def _resolved(path: str) -> str | None:
    """The path nginx routes after resolving dot segments; None for a 400."""
    depth = 0
    for segment in path.split("/")[1:]:
        if segment == "..":
            depth -= 1
            if depth < 0:
                return None
        elif segment != ".":
            depth += 1
    kept = posixpath.normpath(path) if path else path
    if path.endswith(("/", "/.", "/..")) and kept != "/":
        kept += "/"
    return kept.replace("//", "/") if kept.startswith("//") else kept


def notes(table: RouteTable, environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(code, what nginx does) for each difference this request meets."""
    out: list[tuple[str, str]] = []
    path = environ.get("PATH_INFO", "")
    segments = path.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        resolved = _resolved(path)
        if resolved is None:
            out.append(("N201", "nginx answers 400: '..' climbs above the root"))
        else:
            out.append(("N201", f"nginx resolves the dot segments and routes {resolved!r}"))
    if "\x00" in path:
        out.append(("N202", "nginx answers 400 to %00 in a path"))
    host = environ.get("HTTP_HOST")
    if host is not None and not host:
        out.append(("N203", "nginx answers 400 to an empty Host header"))
    if not table.has_hosts:
        out.append(("N205", "nginx still answers 400 to a Host it cannot read itself"))
    if any(p.port is not None for b in table.blocks for p in b.patterns):
        out.append(("N104", "nginx matches port patterns by the port it received the request on"))
    return out


def render(table: RouteTable, environ: Mapping[str, Any]) -> str:
    found = notes(table, environ)
    if not found:
        return "nginx     no difference for this request (docs/deploy.md)\n"
    lines = [
        f"{'nginx' if i == 0 else '':<10}{code} {CODES[code][1]}: {text}"
        for i, (code, text) in enumerate(found)
    ]
    return printable_lines("\n".join(lines)) + "\n"
