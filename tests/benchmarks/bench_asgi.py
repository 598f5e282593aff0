"""Per-request dispatch overhead of ``--target asgi`` against its peers (issue 11).

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_asgi --markdown

``--quick`` is a smoke run (N up to 1,000, few rounds); ``--strict`` exits 1
when a target fails (otherwise the exit status is 0: this is a report). The
report goes to stdout, progress to stderr. docs/asgi.md has the last results.

Method. For every scenario and N a routing file is generated, compiled with
``--target asgi`` (the library call ``dispatchc build`` makes) and the module
executed; the peers are built from the same data: Starlette's ``Router`` with
``Host`` and ``Mount`` routes (most specific first, since Starlette takes the
first that matches), and hypercorn's ``DispatcherMiddleware`` where it applies
(path mounts only). The target applications are ``async def`` functions that
store what they were given in a list. Every dispatcher is first checked once
(the right app, ``root_path`` and ``path``; a wrong answer is reported and
that dispatcher never timed). Then, in rounds, every dispatcher at every N,
and every target app called directly (the baseline), awaits ``app(copy of
the scope, receive, send)`` in a loop inside one event loop for about
``--budget-ms``; the order within a round is shuffled, so machine drift hits
all alike. A dispatcher's time per call is its minimum over the rounds; its
overhead is that minus the baseline's minimum (same scope, same copy per
call). Factories are warmed with N keys first: the timed requests are cache
hits, as nearly all requests are.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import platform
import random
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from hypercorn.middleware import DispatcherMiddleware
from starlette.routing import Host, Mount, Router

from dispatchc.compiler import compile_source

FULL_SIZES = (10, 100, 1_000, 10_000)
QUICK_SIZES = (10, 100, 1_000)

# Targets of issue 11 (ratios are measured in the same run).
STARLETTE_LIMIT = 0.25  # dispatchc overhead / Starlette's
FLAT_LIMIT = 1.2  # dispatchc overhead at the largest N / at the smallest N

APPS = "dcbench_asgi_apps"

DC = "dispatchc"
STARLETTE = "Starlette Router"
HYPERCORN = "hypercorn DispatcherMiddleware"
BASELINE = "app alone"

ASGIApp = Callable[..., Any]


# -- target applications ---------------------------------------------------------------

SEEN: list[tuple[str, str, str]] = []


def make_app(name: str) -> ASGIApp:
    async def app(scope, receive, send):
        SEEN.append((name, scope.get("root_path", ""), scope["path"]))

    app.__name__ = name
    return app


async def _receive():  # pragma: no cover - the apps never read the body
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message):  # pragma: no cover - the apps send nothing
    pass


def scope_for(path: str, host: str = "example.com") -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", host.encode()),
            (b"user-agent", b"bench/1.0"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"connection", b"keep-alive"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


class TenantApps:
    """The hand-written peer of a dispatchc factory route: a dict of apps
    made on first use, by a path parameter that the router captured."""

    def __init__(self, param: str, make: Callable[[str], ASGIApp]):
        self.param = param
        self.make = make
        self.apps: dict[str, ASGIApp] = {}

    async def __call__(self, scope, receive, send):
        key = scope["path_params"][self.param]
        app = self.apps.get(key)
        if app is None:
            app = self.apps[key] = self.make(key)
        await app(scope, receive, send)


# -- scenarios ---------------------------------------------------------------------------


@dataclass
class Case:
    n: int
    scope: dict
    target: ASGIApp  # the app the request must reach (the baseline)
    expect: tuple[str, str, str]  # (app, root_path, path) it must see
    candidates: dict[str, ASGIApp] = field(default_factory=dict)


def compile_asgi(text: str) -> ASGIApp:
    code = compile_source(Path("bench.disp"), text.encode(), Path("bench.py"), target="asgi")
    namespace: dict[str, Any] = {"__name__": "dcbench_asgi_module"}
    exec(compile(code, "bench.py", "exec"), namespace)
    return namespace["application"]


def apps_module(n: int) -> types.ModuleType:
    module = types.ModuleType(APPS)
    module.default = make_app("default")
    for i in range(n):
        setattr(module, f"app_{i}", make_app(f"app_{i}"))
    made: dict[str, ASGIApp] = {}

    def make(key):
        app = made.get(key)
        if app is None:
            app = made[key] = make_app(f"made_{key}")
        return app

    module.make = make
    sys.modules[APPS] = module
    return module


def make_mounts(n: int) -> Case:
    """N literal mounts beside "/": DispatcherMiddleware's pattern."""
    apps = apps_module(n)
    lines = [f"/ -> {APPS}:default"] + [f"/m{i} -> {APPS}:app_{i}" for i in range(n)]
    dc = compile_asgi("\n".join(lines) + "\n")
    mounts = {f"/m{i}": getattr(apps, f"app_{i}") for i in range(n)}
    starlette = Router([*(Mount(k, app=v) for k, v in mounts.items()), Mount("", app=apps.default)])
    # hypercorn takes the first key that the path starts with: longest first,
    # so that /m1 does not take /m10/x.
    keys = sorted(mounts, key=len, reverse=True)
    hypercorn = DispatcherMiddleware({**{k: mounts[k] for k in keys}, "": apps.default})
    i = n // 2
    return Case(
        n,
        scope_for(f"/m{i}/x"),
        getattr(apps, f"app_{i}"),
        (f"app_{i}", f"/m{i}", f"/m{i}/x"),
        {DC: dc, STARLETTE: starlette, HYPERCORN: hypercorn},
    )


def make_hosts(n: int) -> Case:
    """N exact hosts, one app each."""
    apps = apps_module(n)
    lines = [f"host h{i}.example.com {{ / -> {APPS}:app_{i} }}" for i in range(n)]
    dc = compile_asgi("\n".join(lines) + "\n")
    starlette = Router([Host(f"h{i}.example.com", app=getattr(apps, f"app_{i}")) for i in range(n)])
    i = n // 2
    return Case(
        n,
        scope_for("/x", f"h{i}.example.com"),
        getattr(apps, f"app_{i}"),
        (f"app_{i}", "", "/x"),
        {DC: dc, STARLETTE: starlette},
    )


def make_subdomains(n: int) -> Case:
    """One app per subdomain from a factory, N of them made."""
    apps = apps_module(0)
    dc = compile_asgi(f"host {{sub}}.example.com {{ / -> {APPS}:make(sub) cache {n} }}\n")
    starlette = Router([Host("{sub}.example.com", app=TenantApps("sub", apps.make))])
    for i in range(n):
        for app in (dc, starlette):
            asyncio.run(app(scope_for("/", f"t{i}.example.com"), _receive, _send))
    key = f"t{n // 2}"
    return Case(
        n,
        scope_for("/x", f"{key}.example.com"),
        apps.make(key),
        (f"made_{key}", "", "/x"),
        {DC: dc, STARLETTE: starlette},
    )


def make_prefixes(n: int) -> Case:
    """One app per first path segment from a factory, N of them made."""
    apps = apps_module(0)
    dc = compile_asgi(f"/{{prefix}} -> {APPS}:make(prefix) cache {n}\n/ -> {APPS}:default\n")
    starlette = Router(
        [Mount("/{prefix}", app=TenantApps("prefix", apps.make)), Mount("", app=apps.default)]
    )
    for i in range(n):
        for app in (dc, starlette):
            asyncio.run(app(scope_for(f"/p{i}/"), _receive, _send))
    key = f"p{n // 2}"
    return Case(
        n,
        scope_for(f"/{key}/x"),
        apps.make(key),
        (f"made_{key}", f"/{key}", f"/{key}/x"),
        {DC: dc, STARLETTE: starlette},
    )


SCENARIOS: dict[str, Callable[[int], Case]] = {
    "mounts": make_mounts,
    "exact hosts": make_hosts,
    "subdomain factory": make_subdomains,
    "path factory": make_prefixes,
}


# -- timing ------------------------------------------------------------------------------


async def _run(app: ASGIApp, scope: dict, loops: int) -> int:
    """Nanoseconds for ``loops`` awaits of ``app(copy of scope, receive, send)``."""
    copy = scope.copy
    receive, send = _receive, _send
    start = time.perf_counter_ns()
    for _ in range(loops):
        await app(copy(), receive, send)
    elapsed = time.perf_counter_ns() - start
    SEEN.clear()
    return elapsed


async def _calibrate(app: ASGIApp, scope: dict, budget_ns: float) -> int:
    loops = 1
    while True:
        elapsed = await _run(app, scope, loops)
        if elapsed >= 1_000_000 or loops >= 1 << 20:
            break
        loops *= 4
    per_call = min(elapsed, await _run(app, scope, loops)) / loops
    return max(3, round(budget_ns / per_call))


async def check(app: ASGIApp, case: Case) -> str | None:
    SEEN.clear()
    await app(case.scope.copy(), _receive, _send)
    got = SEEN[-1] if SEEN else None
    SEEN.clear()
    if got != case.expect:
        return f"wrong answer: (app, root_path, path) = {got!r}, expected {case.expect!r}"
    return None


@dataclass
class Item:
    n: int
    label: str
    app: ASGIApp
    scope: dict
    loops: int = 0
    best: float = math.inf


async def time_items(items: list[Item], rounds: int, budget_ns: float, rng: random.Random) -> None:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for item in items:
            item.loops = await _calibrate(item.app, item.scope, budget_ns)
        for _ in range(rounds):
            rng.shuffle(items)
            for item in items:
                elapsed = await _run(item.app, item.scope, item.loops)
                item.best = min(item.best, elapsed / item.loops)
    finally:
        if enabled:
            gc.enable()


# -- the report --------------------------------------------------------------------------


def fmt_n(n: int) -> str:
    return f"{n:,}"


def fmt_ns(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}× {'✓' if value <= limit else '✗'}"


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("dispatchc", "starlette", "hypercorn")
    )
    return f"{cpu}; Python {platform.python_version()}; {packages}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_asgi", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N up to 1,000, few rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 7)")
    parser.add_argument("--budget-ms", type=float, default=None, help="time per loop (20 ms)")
    parser.add_argument("--seed", type=int, default=1, help="shuffle seed")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    rounds = args.rounds or (3 if args.quick else 7)
    budget_ns = (args.budget_ms or (5.0 if args.quick else 20.0)) * 1e6
    rng = random.Random(args.seed)
    failed = False
    out: list[str] = [f"Machine: {machine_info()}", ""]
    for name, make in SCENARIOS.items():
        print(f"{name}: building", file=sys.stderr)
        cases = {n: make(n) for n in sizes}
        items: list[Item] = []
        errors: list[str] = []
        for n, case in cases.items():
            items.append(Item(n, BASELINE, case.target, case.scope))
            for label, app in case.candidates.items():
                problem = asyncio.run(check(app, case))
                if problem:
                    errors.append(f"{label} at N={fmt_n(n)}: {problem}")
                else:
                    items.append(Item(n, label, app, case.scope))
        print(f"{name}: timing {len(items)} loops x {rounds} rounds", file=sys.stderr)
        asyncio.run(time_items(items, rounds, budget_ns, rng))
        best = {(i.n, i.label): i.best for i in items}
        labels = [DC, STARLETTE] + (
            [HYPERCORN] if any(HYPERCORN in c.candidates for c in cases.values()) else []
        )

        def overhead(n: int, label: str, best: dict = best) -> float | None:
            if (n, label) not in best:
                return None
            return max(best[(n, label)] - best[(n, BASELINE)], 0.0)

        out.append(f"### {name}")
        out.append("")
        head = ["N", *(f"{label} (ns)" for label in labels), "dispatchc / Starlette"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for n in sizes:
            dc, st = overhead(n, DC), overhead(n, STARLETTE)
            ratio = None if dc is None or not st else dc / st
            row = [fmt_n(n), *(fmt_ns(overhead(n, label)) for label in labels)]
            row.append(fmt_ratio(ratio, STARLETTE_LIMIT))
            failed |= ratio is None or ratio > STARLETTE_LIMIT
            out.append("| " + " | ".join(row) + " |")
        low, high = overhead(sizes[0], DC), overhead(sizes[-1], DC)
        flat = None if low is None or high is None or not low else high / low
        failed |= flat is None or flat > FLAT_LIMIT
        out.append("")
        out.append(
            f"dispatchc at N={fmt_n(sizes[-1])} / N={fmt_n(sizes[0])}: "
            f"{fmt_ratio(flat, FLAT_LIMIT)} (target ≤ {FLAT_LIMIT}×); baseline (the app "
            f"alone): {fmt_ns(best[(sizes[0], BASELINE)])} ns"
        )
        for error in errors:
            out.append(f"- {error}")
            failed = True
        out.append("")
    text = "\n".join(out)
    print(text if args.markdown else text.replace("|", " "))
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    raise SystemExit(main())
