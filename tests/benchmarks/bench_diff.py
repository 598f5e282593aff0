"""How long ``dispatchc diff`` takes on two 10,000-route files that differ in
one route (issue 13: at most 2 s, and exactly one region reported).

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_diff [--routes 10000] [--rounds 3] [--strict]

For each scenario, two routing files are written to a temporary directory:
the same 10,000 routes, and one route changed (another target, or one
route added). ``dispatchc diff OLD NEW --format json`` runs as a subprocess
(the command a user runs, Python's start-up included) ``--rounds`` times;
the report gives the best wall-clock time and the CPU time (user + system)
of that run, checks that it exited 1 and reported exactly one change, and
prints a markdown table. The verdict is on the CPU time, which a machine
shared with other work does not inflate (on an idle machine the two are
within a few per cent). It also splits the work, in process: reading the
two files (parse, lower, plan: what ``build`` does too) and the diff itself
(regions, and explain on each example). ``--strict`` exits 1 when a
scenario is over the limit or wrong; otherwise the exit status is 0: this
is a report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LIMIT_S = 2.0


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    # Routing text for N routes; ``changed`` says whether it is the edited copy.
    text: Callable[[int, bool], str]


def _mounts(n: int, changed: bool) -> str:
    lines = ["/ -> apps:root"]
    for k in range(n - 1):
        target = "apps:other" if changed and k == n // 2 else f"apps:app{k % 7}"
        lines.append(f"/m{k}/a/b -> {target}")
    return "\n".join(lines) + "\n"


def _added(n: int, changed: bool) -> str:
    text = _mounts(n, False)
    return text + ("/m-new/a -> apps:new\n" if changed else "")


def _captures(n: int, changed: bool) -> str:
    lines = ["/ -> apps:root"]
    for k in range(n - 1):
        target = "apps:other(id)" if changed and k == n // 2 else f"apps:make{k % 7}(id)"
        lines.append(f"/t{k}/{{id}}/a -> {target}")
    return "\n".join(lines) + "\n"


def _hosts(n: int, changed: bool) -> str:
    out = []
    for k in range(n):
        target = "apps:other" if changed and k == n // 2 else f"apps:app{k % 7}"
        out.append(f"host h{k}.example.com {{\n    /a/b -> {target}\n}}\n")
    return "".join(out) + "default {\n    / -> status 404\n}\n"


SCENARIOS = (
    Scenario("mounts", "/m{k}/a/b, one target changed", _mounts),
    Scenario("added", "/m{k}/a/b, one route added", _added),
    Scenario("captures", "/t{k}/{id}/a factories, one target changed", _captures),
    Scenario("hosts", "host h{k}.example.com { /a/b }, one target changed", _hosts),
)


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    status: int
    changes: int


def run_once(tmp: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dispatchc", "diff", "old.disp", "new.disp", "--format", "json"],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        changes = len(json.loads(done.stdout))
    except ValueError:
        changes = -1
    return Run(wall, cpu, done.returncode, changes)


def split(tmp: Path) -> tuple[float, float]:
    """CPU seconds to read both files, and to diff them, in this process."""
    from dispatchc.compiler import analyse
    from dispatchc.tools.diff import compare

    started = time.process_time()
    old = analyse("old.disp", (tmp / "old.disp").read_bytes())
    new = analyse("new.disp", (tmp / "new.disp").read_bytes())
    read = time.process_time()
    compare(old, new)
    return read - started, time.process_time() - read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    print(
        f"- Python {platform.python_version()} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs; best of {args.rounds} runs\n"
    )
    columns = ["scenario", "routes", "wall", "CPU", "of which reading", "of which diff"]
    print("| " + " | ".join([*columns, "exit", "regions", "result"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    with tempfile.TemporaryDirectory(prefix="dcdiff-") as tmpdir:
        tmp = Path(tmpdir)
        for sc in SCENARIOS:
            (tmp / "old.disp").write_text(sc.text(args.routes, False), encoding="utf-8")
            (tmp / "new.disp").write_text(sc.text(args.routes, True), encoding="utf-8")
            runs = [run_once(tmp) for _ in range(args.rounds)]
            best = min(runs, key=lambda r: r.cpu)
            wall = min(r.wall for r in runs)
            read, diff = min((split(tmp) for _ in range(args.rounds)), key=sum)
            good = best.status == 1 and best.changes == 1 and best.cpu <= LIMIT_S
            ok &= good
            print(
                f"| {sc.title} | {args.routes:,} | {wall:.2f} s | {best.cpu:.2f} s "
                f"| {read:.2f} s | {diff:.2f} s "
                f"| {best.status} | {best.changes} | {'PASS' if good else 'FAIL'} |",
                flush=True,
            )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
