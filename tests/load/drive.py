"""Drive a generated dispatcher under gunicorn with many concurrent clients.

    .venv/bin/python -m tests.load.drive --seconds 30 --clients 64

builds ``tests/load/routes.disp`` with ``dispatchc build`` into a temporary
directory (next to a copy of ``load_apps.py``), serves it with gunicorn
(gthread, 2 workers x 8 threads) on 127.0.0.1, drives it with client threads
(``http.client``, one keep-alive connection each) for a bounded time, prints
a report, and always stops the server. Exit status 0 when nothing went
wrong, 1 otherwise.

Every request comes from a plan drawn up front (``build_plan``): a Host
header, a path (some percent-encoded, some with a query string), GET or
HEAD, and sometimes ``X-Forwarded-Proto: https`` (gunicorn trusts it from
127.0.0.1, so ``wsgi.url_scheme`` is ``https`` and a Host without a port
means port 443). Its expected answer is computed by ``dispatchc.plan.matcher``,
the reference matcher, over the compiled table, and checked against what the
server sends: the status, which app answered, SCRIPT_NAME, PATH_INFO,
``dispatchc.route``, ``wsgiorg.routing_args``, the body of built-in status
responses and the ``Location`` of redirects. Apps made by a factory whose
cache holds every key the plan uses must have been made exactly once per
worker, however many requests raced for them.

``--variant memo`` serves the file without its port patterns (the lines
between ``# ports: begin`` and ``# ports: end``): only then does the
generated module remember Host headers, and the plan has enough made-up
hosts to make it forget them several times under load.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from dispatchc.compiler import load_table
from dispatchc.ir import AppTarget, FactoryTarget, RedirectTarget, RouteTable, StatusTarget
from dispatchc.plan import matcher

from ..helpers import free_port, gunicorn_flags, stop
from . import load_apps

HERE = Path(__file__).resolve().parent
ROUTES = HERE / "routes.disp"
APPS = HERE / "load_apps.py"
MODULE = load_apps.ROUTES_MODULE  # the generated module's name when served
VARIANTS = ("ports", "memo")

START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0

# Factories whose route cache is larger than the set of keys the plan uses:
# each key must be made exactly once per worker (``created == 1``).
ONCE = {"make_tenant", "make_tenant_8080", "make_section", "make_region", "make_user", "make_axd"}

TENANTS = [f"t{i}" for i in range(200)]
EVICTED = [f"k{i}" for i in range(12)]  # the /admin route caches 4
TAILS = ["", "/", "/x", "/x/y", "/index.html", "/a-b_c.d/~e"]
QUERY = "q=1&x=y"

# Characters that the reference below leaves as they are in a redirect's
# Location while the generated module may not (its safe set is larger than
# quote()'s default): the plan must not put them in a redirected path.
_LOCATION_UNSURE = set("!$'()*,:@")


# -- the plan ---------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: int
    app: str | None = None  # which app answers (None: a built-in response)
    script_name: str = ""
    path_info: str = ""
    route: str | None = None
    routing_args: list | None = None
    once: bool = False  # the app must have been made exactly once (per worker)
    body: bytes | None = None  # built-in responses: the exact body
    location: str | None = None
    factory: str | None = None  # the factory that made the app, if any


@dataclass(frozen=True)
class Request:
    method: str
    host: str
    target: str  # path, with "?query" if any
    https: bool = False
    expect: Expect | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Host": self.host}
        if self.https:
            headers["X-Forwarded-Proto"] = "https"
        return headers

    def environ(self) -> dict[str, Any]:
        """The environ gunicorn makes for this request (the parts routing reads)."""
        path, _, query = self.target.partition("?")
        return {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "HTTP_HOST": self.host,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "wsgi.url_scheme": "https" if self.https else "http",
        }

    def label(self) -> str:
        scheme = "https" if self.https else "http"
        return f"{self.method} {scheme} Host={self.host!r} {self.target}"


def _builtin_body(code: int, method: str) -> bytes:
    if method == "HEAD" or code in (204, 304):
        return b""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{code} {phrase}\n".encode()


def _location(target: RedirectTarget, cand: matcher.Candidate, query: str) -> str:
    pieces = []
    for part in target.parts:
        if part.kind == "text":
            pieces.append(part.value)
        else:
            text = cand.path_info if part.kind == "path" else cand.captures[part.value]
            if _LOCATION_UNSURE & set(text):
                raise ValueError(f"the plan redirects {text!r}: keep to plain characters")
            pieces.append(quote(text, safe="/" if part.kind == "path" else "", encoding="latin-1"))
    location = "".join(pieces)
    if query:
        if not re.fullmatch(r"[A-Za-z0-9=&]*", query) or "#" in location:
            raise ValueError(f"the plan redirects with query {query!r}: keep it plain")
        location += ("&" if "?" in location else "?") + query
    return location


def expect(table: RouteTable, req: Request) -> Expect:
    """What the server must answer, by the reference matcher (SPEC §2-§3)."""
    env = req.environ()
    out = matcher.dispatch(
        table, env, lambda route, args: load_apps.accepts(route.target.attr, args)
    )
    if out.candidate is None:
        assert out.status is not None
        return Expect(out.status, body=_builtin_body(out.status, req.method))
    cand = out.candidate
    target = cand.route.target
    if isinstance(target, StatusTarget):
        body = _builtin_body(target.code, req.method)
        return Expect(target.code, route=out.route_name, body=body)
    if isinstance(target, RedirectTarget):
        location = _location(target, cand, env["QUERY_STRING"])
        body = b"" if req.method == "HEAD" else f"Redirecting to {location}\n".encode("latin-1")
        return Expect(target.code, route=out.route_name, body=body, location=location)
    routing_args = [[], cand.captures] if cand.captures else None
    common = {
        "script_name": cand.script_name,
        "path_info": cand.path_info,
        "route": out.route_name,
        "routing_args": routing_args,
    }
    if isinstance(target, AppTarget):
        return Expect(200, app=target.attr, **common)
    assert isinstance(target, FactoryTarget)
    args = cand.args()
    return Expect(
        200,
        app=load_apps.factory_app_name(target.attr, args),
        once=target.attr in ONCE,
        factory=target.attr,
        **common,
    )


def _words(text: str) -> list[str]:
    return text.split()


def _draw(rng: random.Random) -> tuple[str, str, str, bool]:
    """One (method, host, path, https) from a family of requests, at random."""
    pick = rng.choice
    tail = pick(TAILS)
    family = rng.randrange(13)
    https = False
    if family == 0:  # exact hosts, mounts, status and redirect routes
        host = pick(
            _words("example.com www.example.com EXAMPLE.com. example.com:80 example.com:8080")
        )
        path = (
            pick(
                _words(
                    "/ /api /api/v2 /api/v2/admin /api/v3 /apix /docs /old /gone /healthz /API "
                    "/%61pi/v2 /docs/caf%C3%A9 /old/caf%C3%A9"
                )
            ).rstrip("/")
            + tail
        )
    elif family == 1:  # port patterns, and the scheme's default port
        tenant = pick(TENANTS)
        host = pick(
            _words(
                "api.example.com api.example.com:443 api.example.com:80 API.example.com:8443 "
                f"{tenant}.example.com:8080 {tenant}.example.com:443"
            )
        )
        path = tail
        https = rng.random() < 0.5
    elif family in (2, 3):  # one app per subdomain, made once per worker
        tenant = pick(TENANTS) if rng.random() < 0.95 else f"none-{rng.randrange(5)}"
        host = f"{tenant}.example.com"
        path = pick(["", "", "/static", "/live", "/Admin", "/adminx"]) + tail
    elif family == 4:  # a cache of 4 for 12 tenants: evicted and made again
        host = f"{pick(EVICTED)}.example.com"
        path = "/admin" + tail
    elif family == 5:  # two captures; factories that return None fall back
        host = f"{pick(TENANTS[:20])}.{pick(['eu', 'us', 'xx'])}.example.com"
        path = pick(["", "/billing", "/reports/x", "/other", "/billing/q", "/other/y"])
    elif family == 6:  # made-up deep subdomains: the wildcard, and new Host headers
        host = f"w{rng.randrange(10**6)}.x.{pick(TENANTS)}.example.com"
        path = tail
    elif family == 7:  # a path factory falling back to "/"
        host = "users.example.org"
        path = pick(
            _words("/ /alice /bob/x /carol/settings /dave /dave/settings/x /zed/y /alice/settings")
        )
    elif family == 8:  # nested mounts and a capture between literals
        host = pick(["mounts.example.org", "MOUNTS.example.org:8000"])
        path = pick(
            _words(
                "/ /a /a/ /a/b /a/b/ /a/b/c /a/b/c/d /a/b/d /a/q/d/e /a/none/d /a/x /ab /a/%62/c "
                "/a//d /a/r/d /a/s/d/"
            )
        )
    elif family == 9:  # IDNA and IPv6 hosts
        host = pick(
            _words(
                "xn--bcher-kva.example XN--BCHER-KVA.example.:8000 [::1] [::1]:8080 [0:0::1] [::2]"
            )
        )
        path = tail
    elif family == 10:  # hosts that no block names (a few of them made up)
        host = pick(
            _words(
                f"u{rng.randrange(10**6)}.test evilexample.com example.com.evil.test "
                "127.0.0.1:8000 localhost example.org"
            )
        )
        path = pick(_words("/ /ping /ping/x /moved /moved/a/b /teapot /nothing"))
    elif family == 11:  # invalid Host headers: 400 before any app or factory
        host = pick(
            _words(
                "a..b example.com:99999 example.com:0 example.com: [::1 [fe80::1%eth0] "
                "b\u00fccher.example exa$mple.com .example.com example.com.. [::1]x"
            )
            + ["bad host", "x" * 254, "t1.example.com:8080:80"]
        )
        path = pick(["/", "/api", "/ping"])
    else:  # the default block, made-up hosts again (the host memo fills up)
        host = f"v{rng.randrange(10**6)}.example.net"
        path = pick(["/", "/ping", "/moved/x"])
    method = "HEAD" if rng.random() < 0.1 else "GET"
    if not path.startswith("/"):
        path = "/" + path
    if rng.random() < 0.15:
        path += "?" + QUERY
    return method, host, path, https


def build_plan(table: RouteTable, size: int = 6000, seed: int = 0) -> list[Request]:
    """``size`` requests drawn at random, each with its expected answer."""
    rng = random.Random(seed)
    plan = []
    for _ in range(size):
        method, host, target, https = _draw(rng)
        req = Request(method, host, target, https)
        plan.append(Request(method, host, target, https, expect(table, req)))
    return plan


def check_plan(table: RouteTable, plan: list[Request]) -> list[str]:
    """What is wrong with a plan: unused routes, or ``ONCE`` keys past a cache."""
    problems = []
    routes = {
        f"{'default' if b.is_default else p.text} {r.path.text}"
        for b in table.all_blocks()
        for p in (b.patterns or (None,))
        for r in b.routes
    }
    seen_routes = set()
    keys: dict[str, set[str]] = {}
    caches: dict[str, int] = {}
    for block in table.all_blocks():
        for route in block.routes:
            if isinstance(route.target, FactoryTarget):
                caches[route.target.attr] = route.target.cache
    for req in plan:
        exp = req.expect
        assert exp is not None
        if exp.route:
            seen_routes.add(exp.route)
        if exp.once:
            keys.setdefault(exp.factory or "", set()).add(exp.app or "")
    for name in sorted(routes - seen_routes):
        problems.append(f"no request of the plan reaches route {name!r}")
    for factory, made in sorted(keys.items()):
        if len(made) > caches[factory]:
            problems.append(f"{factory}: {len(made)} keys for a cache of {caches[factory]}")
    return problems


# -- build and serve -----------------------------------------------------------


def routing_text(variant: str) -> str:
    """The routing file as served: as written, or without its port patterns."""
    text = ROUTES.read_text(encoding="utf-8")
    if variant == "ports":
        return text
    if variant != "memo":
        raise ValueError(f"unknown variant {variant!r}")
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.strip() == "# ports: begin":
            skipping = True
        elif line.strip() == "# ports: end":
            skipping = False
        elif not skipping:
            kept.append(line)
    return "".join(kept)


def build(workdir: Path, variant: str) -> RouteTable:
    """Write the routing file and the apps into ``workdir``, compile them with
    the ``dispatchc build`` command, and return the compiled table."""
    text = routing_text(variant)
    source = workdir / f"{MODULE}.disp"
    source.write_text(text, encoding="utf-8")
    shutil.copyfile(APPS, workdir / APPS.name)
    subprocess.run(
        [sys.executable, "-m", "dispatchc", "build", str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if not (workdir / f"{MODULE}.py").is_file():
        raise RuntimeError(f"dispatchc build did not write {MODULE}.py")
    return load_table(source.name, text.encode("utf-8"))


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path
    workers: int

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def boots(self) -> int:
        return self.log_text().count("Booting worker")


def _probe(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/ping", headers={"Host": "ping.test"})
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.proc.returncode}:\n{server.log_text()}"
            )
        if server.boots() >= server.workers and _probe(server.port):
            return
        time.sleep(0.2)
    raise TimeoutError(f"gunicorn did not serve in {START_TIMEOUT}s:\n{server.log_text()}")


@contextlib.contextmanager
def serve(workdir: Path, workers: int = 2, threads: int = 8) -> Iterator[Server]:
    """gunicorn (gthread) on the module built in ``workdir``; always stopped."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GUNICORN_CMD_ARGS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    last_error: Exception | None = None
    for attempt in range(3):  # the free port may be taken before gunicorn binds it
        port = free_port()
        log = workdir / f"gunicorn-{port}-{attempt}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-k",
                    "gthread",
                    "-w",
                    str(workers),
                    "--threads",
                    str(threads),
                    "--chdir",
                    str(workdir),
                    "-b",
                    f"127.0.0.1:{port}",
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--log-level",
                    "info",
                    "--error-logfile",
                    "-",
                    *gunicorn_flags(),
                    f"{MODULE}:application",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=workdir,
            )
        server = Server(proc, port, log, workers)
        try:
            try:
                _wait_until_serving(server)
            except (RuntimeError, TimeoutError) as exc:
                last_error = exc
                continue
            yield server
            return
        finally:
            stop(proc)
    raise RuntimeError(f"could not start gunicorn: {last_error}")


# -- drive ---------------------------------------------------------------------


@dataclass
class ClientStats:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    connects: int = 0
    stale: int = 0  # a kept-alive connection the server had closed: retried once
    errors: int = 0
    mismatches: int = 0
    samples: list[str] = field(default_factory=list)  # first errors and mismatches
    pids: Counter = field(default_factory=Counter)
    routes: Counter = field(default_factory=Counter)
    created: dict[str, int] = field(default_factory=dict)  # factory -> highest count seen
    memo_max: int = 0
    memo_resets: int = 0
    _memo_last: dict[int, int] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if len(self.samples) < 5:
            self.samples.append(text)


def verify(
    req: Request, status: int, headers: http.client.HTTPMessage, body: bytes, stats: ClientStats
) -> str | None:
    """What is wrong with an answer, or None."""
    exp = req.expect
    assert exp is not None
    if status != exp.status:
        return f"status {status}, expected {exp.status}; body {body[:200]!r}"
    if exp.app is None:
        if exp.location is not None and headers.get("Location") != exp.location:
            return f"Location {headers.get('Location')!r}, expected {exp.location!r}"
        if body != exp.body:
            return f"body {body[:200]!r}, expected {exp.body!r}"
        return None
    raw = headers.get("X-Answer")
    if raw is None:
        return f"no X-Answer header; body {body[:200]!r}"
    if body != (b"" if req.method == "HEAD" else raw.encode("ascii")):
        return f"body {body[:200]!r} is not the X-Answer header {raw[:200]!r}"
    answer = json.loads(raw)
    got = {k: answer[k] for k in ("app", "script_name", "path_info", "route", "routing_args")}
    want = {
        "app": exp.app,
        "script_name": exp.script_name,
        "path_info": exp.path_info,
        "route": exp.route,
        "routing_args": exp.routing_args,
    }
    if got != want:
        diff = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
        return f"(got, expected): {diff}"
    pid = answer["pid"]
    stats.pids[pid] += 1
    if exp.factory:
        stats.created[exp.factory] = max(stats.created.get(exp.factory, 0), answer["created"])
        if exp.once and answer["created"] != 1:
            return f"{exp.app} made {answer['created']} times in worker {pid}, expected once"
    memo = answer["memo"]
    if memo is not None:
        stats.memo_max = max(stats.memo_max, memo)
        if memo < stats._memo_last.get(pid, 0) - 256:
            stats.memo_resets += 1
        stats._memo_last[pid] = memo
    return None


_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _client(
    port: int,
    plan: list[Request],
    deadline_box: list[float],
    seed: int,
    start: threading.Barrier,
    stats: ClientStats,
) -> None:
    rng = random.Random(seed)
    conn: http.client.HTTPConnection | None = None
    try:
        start.wait()
        deadline = deadline_box[0]  # set before the barrier opened
        while time.monotonic() < deadline:
            req = rng.choice(plan)
            for attempt in range(2):
                fresh = conn is None
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
                    stats.connects += 1
                began = time.perf_counter()
                try:
                    conn.request(req.method, req.target, headers=req.headers())
                    response = conn.getresponse()
                    body = response.read()
                except _RETRYABLE as exc:
                    conn.close()
                    conn = None
                    if not fresh and attempt == 0:
                        stats.stale += 1
                        continue
                    stats.errors += 1
                    stats.note(f"{req.label()}: {type(exc).__name__}: {exc}")
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = None
                    stats.errors += 1
                    stats.note(f"{req.label()}: {type(exc).__name__}: {exc}")
                    break
                stats.latencies.append(time.perf_counter() - began)
                stats.requests += 1
                stats.statuses[response.status] += 1
                stats.routes[req.expect.route if req.expect else None] += 1
                wrong = verify(req, response.status, response.headers, body, stats)
                if wrong:
                    stats.mismatches += 1
                    stats.note(f"{req.label()}: {wrong}")
                if response.will_close:
                    conn.close()
                    conn = None
                break
    except BaseException as exc:  # never let a client thread die silently
        stats.errors += 1
        stats.note(f"client thread: {type(exc).__name__}: {exc}")
    finally:
        if conn is not None:
            conn.close()


@dataclass
class Report:
    variant: str
    seconds: float
    clients: int
    workers: int
    threads: int
    elapsed: float = 0.0
    total: ClientStats = field(default_factory=ClientStats)
    distinct_hosts: int = 0
    boots: int = 0
    alive_at_end: bool = False
    client_cpu: float = 0.0  # CPU seconds of this process while driving
    server_cpu: float | None = None  # CPU seconds of the workers (Linux /proc)
    server_rss: list[float] = field(default_factory=list)  # MB per worker at the end
    log_problems: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def latency(self, q: float) -> float:
        lat = sorted(self.total.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    def as_dict(self) -> dict[str, Any]:
        t = self.total
        return {
            "variant": self.variant,
            "clients": self.clients,
            "workers": self.workers,
            "threads": self.threads,
            "seconds": round(self.elapsed, 2),
            "requests": t.requests,
            "requests_per_second": round(t.requests / self.elapsed, 1) if self.elapsed else 0,
            "latency_ms": {
                "p50": round(self.latency(0.50), 2),
                "p90": round(self.latency(0.90), 2),
                "p99": round(self.latency(0.99), 2),
                "max": round(max(t.latencies, default=0) * 1000, 2),
            },
            "statuses": dict(sorted(t.statuses.items())),
            "connections": t.connects,
            "stale_keepalive_retries": t.stale,
            "errors": t.errors,
            "mismatches": t.mismatches,
            "worker_pids": len(t.pids),
            "workers_booted": self.boots,
            "server_alive_at_end": self.alive_at_end,
            "cpu_seconds": {
                "clients": round(self.client_cpu, 1),
                "server_workers": None if self.server_cpu is None else round(self.server_cpu, 1),
            },
            "worker_rss_mb_at_end": self.server_rss,
            "distinct_host_headers_in_plan": self.distinct_hosts,
            "host_memo": (
                {"max_size_seen": t.memo_max, "drops_seen_by_clients": t.memo_resets}
                if t.memo_max
                else None
            ),
            "factory_max_created": dict(sorted(t.created.items())),
            "routes_hit": len([r for r in t.routes if r]),
            "problems": self.problems,
        }

    def text(self) -> str:
        d = self.as_dict()
        lat = d["latency_ms"]
        lines = [
            f"dispatchc load test, variant {self.variant}: gunicorn gthread, "
            f"{self.workers} workers x {self.threads} threads, {self.clients} clients, "
            f"{d['seconds']} s",
            f"  requests      {d['requests']} ({d['requests_per_second']} req/s)",
            f"  latency ms    p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}  "
            f"max {lat['max']}",
            "  statuses      " + "  ".join(f"{k}: {v}" for k, v in d["statuses"].items()),
            f"  connections   {d['connections']} opened, "
            f"{d['stale_keepalive_retries']} stale keep-alive retried",
            f"  errors        {d['errors']}   mismatches {d['mismatches']}",
            f"  workers       {d['worker_pids']} answered, {d['workers_booted']} booted, "
            f"server alive at end: {d['server_alive_at_end']}",
            f"  cpu seconds   clients {d['cpu_seconds']['clients']}, "
            f"server workers {d['cpu_seconds']['server_workers']} "
            f"(on {os.cpu_count()} CPUs); worker RSS at end, MB: {d['worker_rss_mb_at_end']}",
            f"  hosts         {d['distinct_host_headers_in_plan']} distinct Host headers "
            f"in the plan; host memo: {d['host_memo'] or 'not generated (port patterns)'}",
            f"  factories     highest 'created' seen: {d['factory_max_created']}",
            f"  routes hit    {d['routes_hit']}",
        ]
        for sample in self.total.samples:
            lines.append(f"  ! {sample}")
        for problem in self.problems:
            lines.append(f"  PROBLEM: {problem}")
        lines.append("  OK" if not self.problems else "  FAILED")
        return "\n".join(lines)


def merge(parts: list[ClientStats]) -> ClientStats:
    total = ClientStats()
    for s in parts:
        total.requests += s.requests
        total.statuses.update(s.statuses)
        total.latencies.extend(s.latencies)
        total.connects += s.connects
        total.stale += s.stale
        total.errors += s.errors
        total.mismatches += s.mismatches
        total.samples.extend(s.samples[: max(0, 10 - len(total.samples))])
        total.pids.update(s.pids)
        total.routes.update(s.routes)
        for k, v in s.created.items():
            total.created[k] = max(total.created.get(k, 0), v)
        total.memo_max = max(total.memo_max, s.memo_max)
        total.memo_resets += s.memo_resets
    return total


def drive(
    port: int, plan: list[Request], seconds: float, clients: int, seed: int = 0
) -> tuple[ClientStats, float, list[str]]:
    """Run ``clients`` threads against the server for ``seconds``."""
    stats = [ClientStats() for _ in range(clients)]
    start = threading.Barrier(clients + 1, timeout=START_TIMEOUT)
    deadline_box: list[float] = []  # set once every thread is started
    threads = [
        threading.Thread(
            target=_client,
            args=(port, plan, deadline_box, seed * 1000 + i, start, stats[i]),
            name=f"load-client-{i}",
            daemon=True,
        )
        for i in range(clients)
    ]
    problems = []
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline = began + seconds
    deadline_box.append(deadline)
    start.wait()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT * 2 + 10)
        if thread.is_alive():
            problems.append(f"{thread.name} still running long after the deadline")
    elapsed = time.monotonic() - began
    return merge(stats), elapsed, problems


def _cpu_seconds(pids) -> float | None:
    """CPU seconds used so far by these processes, where /proc says."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def run(
    workdir: Path,
    variant: str = "ports",
    seconds: float = 30.0,
    clients: int = 64,
    workers: int = 2,
    threads: int = 8,
    seed: int = 0,
    plan_size: int = 6000,
) -> Report:
    """Build, serve, drive, stop; the report says what went wrong, if anything."""
    report = Report(variant, seconds, clients, workers, threads)
    table = build(workdir, variant)
    plan = build_plan(table, plan_size, seed)
    report.problems.extend(check_plan(table, plan))
    report.distinct_hosts = len({req.host for req in plan})
    with serve(workdir, workers, threads) as server:
        before = os.times()
        total, elapsed, problems = drive(server.port, plan, seconds, clients, seed)
        after = os.times()
        report.client_cpu = after.user - before.user + after.system - before.system
        report.server_cpu = _cpu_seconds(total.pids)
        report.server_rss = [rss for pid in sorted(total.pids) if (rss := _rss_mb(pid))]
        report.problems.extend(problems)
        report.alive_at_end = server.proc.poll() is None and _probe(server.port)
    report.total, report.elapsed = total, elapsed
    log = server.log_text()
    report.boots = server.boots()
    report.log_problems = [
        line
        for line in log.splitlines()
        if any(word in line for word in ("[ERROR]", "[CRITICAL]", "Traceback", "TIMEOUT"))
    ]
    fives = sum(n for code, n in total.statuses.items() if code >= 500)
    if fives:
        report.problems.append(f"{fives} answers with a 5xx status")
    if total.mismatches:
        report.problems.append(f"{total.mismatches} wrong answers")
    if total.errors:
        report.problems.append(f"{total.errors} connection or protocol errors")
    if not total.requests:
        report.problems.append("no request was answered")
    if not report.alive_at_end:
        report.problems.append("the server was not serving at the end of the run")
    if report.boots != workers:
        report.problems.append(f"{report.boots} workers booted for {workers}: one died")
    if len(total.pids) > workers:
        report.problems.append(f"answers from {len(total.pids)} worker pids for {workers}")
    if report.log_problems:
        report.problems.append("gunicorn logged: " + " | ".join(report.log_problems[:3]))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.drive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to drive [30]")
    parser.add_argument("--clients", type=int, default=64, help="client threads [64]")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker [8]")
    parser.add_argument(
        "--variant",
        choices=(*VARIANTS, "both"),
        default="ports",
        help="ports: the file as written; memo: without its port "
        "patterns, so the host memo is generated [ports]",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plan-size", type=int, default=6000)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    failed = False
    for variant in variants:
        workdir = Path(tempfile.mkdtemp(prefix=f"dispatchc-load-{variant}-"))
        try:
            report = run(
                workdir,
                variant,
                args.seconds,
                args.clients,
                args.workers,
                args.threads,
                args.seed,
                args.plan_size,
            )
            print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
            failed |= bool(report.problems)
        finally:
            if args.keep:
                print(f"  work directory kept: {workdir}", file=sys.stderr)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
