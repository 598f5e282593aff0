"""Per-request dispatch overhead of dispatchc against its peers (issue 5),
and the cost of building and importing large modules (issues 5 and 10).

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_dispatch --markdown --plot docs/performance.png

``--quick`` is a smoke run (N up to 1,000, few rounds, one build timing);
``--strict`` exits 1 when a target fails (otherwise the exit status is 0: this
is a report). ``--compare COMMAND`` builds everything also with another
dispatchc (say, the previous commit's) and measures it as "dispatchc
(before)" in the same interleaved runs; ``--callgrind`` adds instruction
counts per request (valgrind). ``--build-only`` and ``--skip-builds`` run one
half. The report goes to stdout, progress to stderr. See docs/performance.md
for what is measured and the last results.

Method. For every scenario and N, routing files are generated in a temporary
directory, built with ``dispatchc build`` (a subprocess: the same command a
user runs) and the generated modules imported from there. The target
applications are trivial functions (``start_response`` and a constant body).
Each dispatcher is first checked once (right app, SCRIPT_NAME and PATH_INFO;
a wrong answer is reported and that dispatcher never timed). Then, in rounds,
every dispatcher of the scenario at every N, and every target app called
directly (the baseline), runs a loop of ``f(base.copy(), start_response)``
for about ``--budget-ms``; the order within a round is shuffled, so machine
drift hits all alike. A dispatcher's time per call is its minimum over the
rounds; its overhead is that minimum minus the baseline's minimum (same
request, same environ copy per call).

Builds are measured as whole processes (CPU time, wall clock, peak RSS from
wait4(2)); imports in fresh processes, with a .pyc (warm) or from a fresh copy
with none (cold).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import itertools
import json
import math
import os
import platform
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from threading import Lock
from types import ModuleType
from wsgiref.util import shift_path_info

from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Map, Rule

ROOT = Path(__file__).resolve().parents[2]

FULL_SIZES = (10, 100, 1_000, 10_000)
QUICK_SIZES = (10, 100, 1_000)
BUILD_ROUTES = 10_000  # the size of the routing files whose build and import are timed
BIG_ROUTES = 100_000  # the mounts file whose build CPU, peak RSS and cold import are timed

# Targets of issue 5 (ratios are measured in the same run).
FLOOR_LIMIT = 1.15  # dispatchc / hand-written floor
FLAT_LIMIT = 1.2  # dispatchc overhead at the largest N / at the smallest N
BUILD_LIMIT_S = 2.0  # wall clock of `dispatchc build`, 10,000 routes
IMPORT_LIMIT_MS = 50.0  # warm import of the generated module, 10,000 routes

# Targets of issue 10, on the mounts file: CPU time (user + sys) and peak RSS
# of a whole `dispatchc build` process, and the import of what it wrote.
BUILD_CPU_LIMIT_S = {BUILD_ROUTES: 1.0, BIG_ROUTES: 6.0}
BUILD_RSS_LIMIT_MB = {BIG_ROUTES: 600.0}
WARM_IMPORT_LIMIT_MS = 30.0  # 10,000 mounts, .pyc present
COLD_IMPORT_LIMIT_S = 3.0  # 100,000 mounts, no .pyc

APPS = "dcbench_apps"  # the module of target applications, written into the temp dir

# Dispatcher labels.
DC = "dispatchc"
DC_BEFORE = "dispatchc (before)"  # built by --compare COMMAND
FLOOR = "hand-written"
DM = "DispatcherMiddleware"
WZ_MAP = "werkzeug Map"
HOST_DICT = "host dict"
FLASK_SUB = "Flask SubdomainDispatcher"
FLASK_PATH = "Flask PathDispatcher"
BASELINE = "app alone"

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


# -- the target applications --------------------------------------------------

APPS_SOURCE = '''\
"""Target applications of the dispatchc benchmark (written by bench_dispatch.py)."""

_HEADERS = [("Content-Type", "text/plain")]


def _make(name):
    body = [name.encode("ascii")]

    def app(environ, start_response):
        start_response("200 OK", _HEADERS)
        return body

    app.__name__ = app.__qualname__ = name
    return app


default = _make("default")
api = _make("api")
for _i in range({count}):
    globals()["app_%d" % _i] = _make("app_%d" % _i)


def make_app(name):
    """The factory: "s17" (a subdomain) or "p17" (a path prefix) -> app_17, else None."""
    if name[:1] in ("s", "p") and name[1:].isdigit():
        return globals().get("app_" + name[1:])
    return None
'''


def _start_response(status, headers, exc_info=None):
    return None


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"Not Found"]


def base_environ(path: str, host: str = "example.com") -> dict:
    """A GET as gunicorn 23 passes it: the same 25 keys (the benchmark copies it per call).

    The number of keys matters: a dict copied from one that is just full
    (21 keys) resizes on its first new key, which would charge every
    dispatcher that adds a key (``dispatchc.route``) for the environ's size.
    """
    return {
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": None,
        "wsgi.input_terminated": True,
        "SERVER_SOFTWARE": "gunicorn/23.0.0",
        "wsgi.input": io.BytesIO(),
        "gunicorn.socket": None,
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_USER_AGENT": "curl/8.5.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "54321",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "wsgi.early_hints": None,
    }


# -- peers: Flask's "Application Dispatching" pattern -------------------------
# SubdomainDispatcher and PathDispatcher are copied as written in the Flask
# documentation, https://flask.palletsprojects.com/en/stable/patterns/appdispatch/
# (Flask 3.1: PathDispatcher uses wsgiref.util.shift_path_info and the
# _peek_path_info helper given there).


class SubdomainDispatcher:
    def __init__(self, domain, create_app):
        self.domain = domain
        self.create_app = create_app
        self.lock = Lock()
        self.instances = {}

    def get_application(self, host):
        host = host.split(":")[0]
        assert host.endswith(self.domain), "Configuration error"
        subdomain = host[: -len(self.domain)].rstrip(".")
        with self.lock:
            app = self.instances.get(subdomain)
            if app is None:
                app = self.create_app(subdomain)
                self.instances[subdomain] = app
            return app

    def __call__(self, environ, start_response):
        app = self.get_application(environ["HTTP_HOST"])
        return app(environ, start_response)


class PathDispatcher:
    def __init__(self, default_app, create_app):
        self.default_app = default_app
        self.create_app = create_app
        self.lock = Lock()
        self.instances = {}

    def get_application(self, prefix):
        with self.lock:
            app = self.instances.get(prefix)
            if app is None:
                app = self.create_app(prefix)
                if app is not None:
                    self.instances[prefix] = app
            return app

    def __call__(self, environ, start_response):
        app = self.get_application(_peek_path_info(environ))
        if app is not None:
            shift_path_info(environ)
        else:
            app = self.default_app
        return app(environ, start_response)


def _peek_path_info(environ):
    segments = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)
    if segments:
        return segments[0]

    return None


# -- peers: werkzeug ------------------------------------------------------------


def werkzeug_hosts(apps_by_host: dict[str, WSGIApp]) -> WSGIApp:
    """werkzeug's router with host matching: a Map bound to each request."""
    url_map = Map(
        [
            rule
            for host, app in apps_by_host.items()
            for rule in (
                Rule("/", host=host, endpoint=app),
                Rule("/<path:path>", host=host, endpoint=app),
            )
        ],
        host_matching=True,
    )

    def dispatch(environ, start_response):
        try:
            endpoint, _args = url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            return exc(environ, start_response)
        return endpoint(environ, start_response)

    return dispatch


# -- peers: hand-written dispatchers (the practical floor) --------------------


def mount_floor(default: WSGIApp, mounts: dict[str, WSGIApp]) -> WSGIApp:
    """One dict lookup on the first segment, then the SCRIPT_NAME/PATH_INFO rewrite."""
    get = mounts.get

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        parts = path.split("/", 2)
        app = get(parts[1]) if len(parts) > 1 else None
        if app is None:
            return default(environ, start_response)
        script = "/" + parts[1]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
        environ["PATH_INFO"] = path[len(script) :]
        return app(environ, start_response)

    return dispatch


def nested_floor(default: WSGIApp, tree: dict[str, tuple[WSGIApp, dict]]) -> WSGIApp:
    """A dict lookup on the first segment, one on the second, then the rewrite."""
    get = tree.get

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        parts = path.split("/", 3)
        node = get(parts[1]) if len(parts) > 1 else None
        if node is None:
            return default(environ, start_response)
        app, children = node
        child = children.get(parts[2]) if len(parts) > 2 else None
        if child is None:
            script = "/" + parts[1]
        else:
            app = child
            script = "/" + parts[1] + "/" + parts[2]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
        environ["PATH_INFO"] = path[len(script) :]
        return app(environ, start_response)

    return dispatch


def prefix_floor(default: WSGIApp, create: Callable[[str], WSGIApp | None]) -> WSGIApp:
    """The mount floor over a cache filled by a factory (lock on a miss only)."""
    cache: dict[str, WSGIApp] = {}
    get = cache.get
    lock = Lock()

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        parts = path.split("/", 2)
        prefix = parts[1] if len(parts) > 1 else ""
        app = get(prefix)
        if app is None:
            if prefix:
                with lock:
                    app = get(prefix)
                    if app is None:
                        app = create(prefix)
                        if app is not None:
                            cache[prefix] = app
            if app is None:
                return default(environ, start_response)
        script = "/" + prefix
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
        environ["PATH_INFO"] = path[len(script) :]
        return app(environ, start_response)

    return dispatch


def host_dict(apps_by_host: dict[str, WSGIApp]) -> WSGIApp:
    """One dict lookup on the raw Host header (no validation, no normalisation)."""
    get = apps_by_host.get

    def dispatch(environ, start_response):
        app = get(environ["HTTP_HOST"])
        if app is None:
            return _not_found(environ, start_response)
        return app(environ, start_response)

    return dispatch


# -- scenarios ----------------------------------------------------------------


def disp_mounts(n: int) -> str:
    lines = [f"/ -> {APPS}:default"]
    lines += [f"/m{i} -> {APPS}:app_{i}" for i in range(n)]
    return "\n".join(lines) + "\n"


def disp_nested(n: int) -> str:
    lines = [f"/ -> {APPS}:default", f"/api -> {APPS}:api"]
    lines += [f"/api/v{i} -> {APPS}:app_{i}" for i in range(n)]
    return "\n".join(lines) + "\n"


def disp_hosts(n: int) -> str:
    return "".join(f"host h{i}.example.com {{\n    / -> {APPS}:app_{i}\n}}\n" for i in range(n))


def disp_subdomains(n: int) -> str:
    return f"host {{sub}}.example.com {{\n    / -> {APPS}:make_app(sub) cache {n}\n}}\n"


def disp_prefixes(n: int) -> str:
    return f"/{{prefix}} -> {APPS}:make_app(prefix) cache {n}\n/ -> {APPS}:default\n"


#: routing file stem -> its text for N (mounts and deep path share one file).
SOURCES: dict[str, Callable[[int], str]] = {
    "mounts": disp_mounts,
    "nested": disp_nested,
    "hosts": disp_hosts,
    "subdomains": disp_subdomains,
    "prefixes": disp_prefixes,
}


@dataclass
class Case:
    """One scenario at one N: the request, the right answer and the dispatchers."""

    n: int
    environ: dict
    target: WSGIApp  # the app that must handle the request: the baseline
    expect: tuple[str, str, str]  # (app name, SCRIPT_NAME, PATH_INFO) that app sees
    candidates: dict[str, WSGIApp]
    warm: list[dict] = field(default_factory=list)  # requests that fill factory caches
    errors: dict[str, str] = field(default_factory=dict)  # label -> why it is not timed


@dataclass
class Scenario:
    key: str
    title: str
    source: str  # stem in SOURCES
    request: str  # the timed request, for the report (k = N - 1)
    routes: str  # what the routing file holds, for the report
    peers: list[str]
    ratios: list[tuple[str, float]]  # (peer, limit): dispatchc / peer <= limit at every N
    make: Callable[[int, ModuleType, WSGIApp | None], Case]


def _app(apps: ModuleType, i: int) -> WSGIApp:
    return getattr(apps, f"app_{i}")


def _with_dc(dc: WSGIApp | None, peers: dict[str, WSGIApp]) -> dict[str, WSGIApp]:
    return ({DC: dc} if dc is not None else {}) | peers


def _mounts_case(n: int, apps: ModuleType, dc: WSGIApp | None, tail: list[str]) -> Case:
    k = n - 1
    table = {f"m{i}": _app(apps, i) for i in range(n)}
    peers = {
        FLOOR: mount_floor(apps.default, table),
        DM: DispatcherMiddleware(apps.default, {"/" + seg: app for seg, app in table.items()}),
    }
    rest = "/" + "/".join(tail)
    return Case(
        n,
        base_environ(f"/m{k}{rest}"),
        _app(apps, k),
        (f"app_{k}", f"/m{k}", rest),
        _with_dc(dc, peers),
    )


def make_mounts(n: int, apps: ModuleType, dc: WSGIApp | None) -> Case:
    return _mounts_case(n, apps, dc, ["a", "b"])


DEEP_TAIL = [chr(ord("a") + i) for i in range(10)]


def make_deep(n: int, apps: ModuleType, dc: WSGIApp | None) -> Case:
    return _mounts_case(n, apps, dc, DEEP_TAIL)


def make_nested(n: int, apps: ModuleType, dc: WSGIApp | None) -> Case:
    k = n - 1
    versions = {f"v{i}": _app(apps, i) for i in range(n)}
    mounts = {"/api": apps.api} | {f"/api/{seg}": app for seg, app in versions.items()}
    peers = {
        FLOOR: nested_floor(apps.default, {"api": (apps.api, versions)}),
        DM: DispatcherMiddleware(apps.default, mounts),
    }
    return Case(
        n,
        base_environ(f"/api/v{k}/a/b"),
        _app(apps, k),
        (f"app_{k}", f"/api/v{k}", "/a/b"),
        _with_dc(dc, peers),
    )


def make_hosts(n: int, apps: ModuleType, dc: WSGIApp | None) -> Case:
    k = n - 1
    by_host = {f"h{i}.example.com": _app(apps, i) for i in range(n)}
    peers = {WZ_MAP: werkzeug_hosts(by_host), HOST_DICT: host_dict(by_host)}
    return Case(
        n,
        base_environ("/a/b", host=f"h{k}.example.com"),
        _app(apps, k),
        (f"app_{k}", "", "/a/b"),
        _with_dc(dc, peers),
    )


def make_subdomains(n: int, apps: ModuleType, dc: WSGIApp | None) -> Case:
    k = n - 1
    peers = {FLASK_SUB: SubdomainDispatcher("example.com", apps.make_app)}
    return Case(
        n,
        base_environ("/a/b", host=f"s{k}.example.com"),
        _app(apps, k),
        (f"app_{k}", "", "/a/b"),
        _with_dc(dc, peers),
        warm=[base_environ("/a/b", host=f"s{i}.example.com") for i in range(n)],
    )


def make_prefixes(n: int, apps: ModuleType, dc: WSGIApp | None) -> Case:
    k = n - 1
    peers = {
        FLOOR: prefix_floor(apps.default, apps.make_app),
        FLASK_PATH: PathDispatcher(apps.default, apps.make_app),
    }
    return Case(
        n,
        base_environ(f"/p{k}/a/b"),
        _app(apps, k),
        (f"app_{k}", f"/p{k}", "/a/b"),
        _with_dc(dc, peers),
        warm=[base_environ(f"/p{i}/a/b") for i in range(n)],
    )


SCENARIOS = [
    Scenario(
        "mounts",
        "mounts",
        "mounts",
        "/m{k}/a/b",
        "N one-segment mounts /m{i} and /",
        [FLOOR, DM],
        [(FLOOR, FLOOR_LIMIT)],
        make_mounts,
    ),
    Scenario(
        "deep",
        "deep path",
        "mounts",
        "/m{k}/a/b/c/d/e/f/g/h/i/j",
        "N one-segment mounts /m{i} and / (the mounts file)",
        [FLOOR, DM],
        [(FLOOR, FLOOR_LIMIT), (DM, 0.2)],
        make_deep,
    ),
    Scenario(
        "nested",
        "nested mounts",
        "nested",
        "/api/v{k}/a/b",
        "N mounts /api/v{i} beside /api and /",
        [FLOOR, DM],
        [(FLOOR, FLOOR_LIMIT)],
        make_nested,
    ),
    Scenario(
        "hosts",
        "exact hosts",
        "hosts",
        "Host: h{k}.example.com, /a/b",
        "N blocks host h{i}.example.com { / -> app_i }",
        [WZ_MAP, HOST_DICT],
        [(WZ_MAP, 0.05), (HOST_DICT, 1.5)],
        make_hosts,
    ),
    Scenario(
        "subdomain",
        "subdomain factory",
        "subdomains",
        "Host: s{k}.example.com, /a/b (N apps in the cache)",
        "host {sub}.example.com { / -> make_app(sub) cache N }",
        [FLASK_SUB],
        [(FLASK_SUB, 0.6)],
        make_subdomains,
    ),
    Scenario(
        "prefix",
        "path factory",
        "prefixes",
        "/p{k}/a/b (N apps in the cache)",
        "/{prefix} -> make_app(prefix) cache N, / -> default",
        [FLOOR, FLASK_PATH],
        [(FLOOR, FLOOR_LIMIT), (FLASK_PATH, 0.35)],
        make_prefixes,
    ),
]


# -- building -----------------------------------------------------------------


#: The build commands by label: DC (``--dispatchc``, by default the dispatchc
#: script beside the running Python) and, with ``--compare COMMAND``, DC_BEFORE.
COMMANDS: dict[str, list[str]] = {}

#: What a label adds to the names of the modules its command builds, so that
#: both versions' modules can be imported into one process.
SUFFIXES = {DC: "", DC_BEFORE: "_before"}


def default_command() -> list[str]:
    """The venv's ``dispatchc`` script (``python -m dispatchc`` without one)."""
    script = Path(sys.executable).with_name("dispatchc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dispatchc"]


def dispatchc_command(label: str = DC) -> list[str]:
    return COMMANDS.get(label) or default_command()


def last_line(text: str) -> str:
    """The last non-blank line of a child's stderr (the error of a traceback)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: bytecode caching on (warm .pyc)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env | extra


def module_name(stem: str, n: int, label: str = DC) -> str:
    return f"dcbench_{stem}_{n}{SUFFIXES[label]}"


def build_all(tmp: Path, stems: list[str], sizes: list[int], label: str) -> dict[str, str]:
    """Write and build every routing file; module name -> error for those that failed."""
    paths = []
    for stem in stems:
        for n in sizes:
            path = tmp / f"{module_name(stem, n, label)}.disp"
            path.write_text(SOURCES[stem](n), encoding="utf-8")
            paths.append(path)
    cmd = dispatchc_command(label)
    done = subprocess.run([*cmd, "build", *map(str, paths)], capture_output=True, text=True)
    if done.returncode == 0:
        return {}
    errors = {}  # all or nothing: find which files fail
    for path in paths:
        one = subprocess.run([*cmd, "build", str(path)], capture_output=True, text=True)
        if one.returncode:
            errors[path.stem] = f"dispatchc build failed: {last_line(one.stderr)}"
    return errors or {"*": f"dispatchc build failed: {last_line(done.stderr)}"}


def load_generated(name: str) -> tuple[WSGIApp | None, str | None]:
    try:
        module = importlib.import_module(name)
        return module.application, None
    except Exception as exc:  # a broken build is reported, never timed
        return None, f"import failed: {type(exc).__name__}: {exc}"


@dataclass
class Usage:
    """What one child process cost, from wait4(2), as /usr/bin/time reports it."""

    wall: float  # seconds
    cpu: float  # user + sys, seconds
    rss_mb: float  # peak resident set size
    returncode: int
    output: str  # stdout and stderr


#: Runs ``argv[2:]`` and writes what wait4(2) says of it to the file ``argv[1]``,
#: as /usr/bin/time does. A child's peak RSS (ru_maxrss) starts from that of
#: the process it was forked from (Linux keeps it across exec), so the
#: benchmark, whose own RSS is hundreds of MB, cannot fork the build itself:
#: this small Python (no site) forks it instead.
RUSAGE_CODE = """\
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        print(f"{sys.argv[2]}: {exc.strerror}", file=sys.stderr, flush=True)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> Usage:
    """Run ``cmd`` to the end and measure it: its own rusage, not its siblings'."""
    with tempfile.TemporaryDirectory(prefix="dcbench-run-") as tmpdir:
        report = Path(tmpdir) / "rusage"
        output = Path(tmpdir) / "output"
        with output.open("wb") as out:
            subprocess.run(
                [sys.executable, "-S", "-c", RUSAGE_CODE, str(report), *cmd],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                check=True,
            )
        code, wall, cpu, maxrss = report.read_text().split()
        text = output.read_bytes().decode("utf-8", "replace")
    kib = 1024 if sys.platform == "darwin" else 1  # ru_maxrss: bytes on macOS, KiB on Linux
    return Usage(float(wall), float(cpu), int(maxrss) / kib / 1024, int(code), text)


@dataclass
class BuildTime:
    cpu: float | None = None  # user + sys of the child, min over the repeats
    wall: float | None = None  # wall clock, min over the repeats
    rss_mb: float | None = None  # peak RSS of the child, max over the repeats
    error: str = ""


def time_build(folder: Path, stem: str, n: int, label: str, repeats: int) -> BuildTime:
    """``dispatchc build FILE`` as a whole process, ``repeats`` times."""
    src = folder / f"{module_name(stem, n, label)}.disp"
    src.write_text(SOURCES[stem](n), encoding="utf-8")
    cmd = [*dispatchc_command(label), "build", str(src)]
    runs = []
    for _ in range(repeats):
        run = run_child(cmd, child_env())
        if run.returncode:
            return BuildTime(error=f"dispatchc build failed: {last_line(run.output)}")
        runs.append(run)
    return BuildTime(
        min(r.cpu for r in runs), min(r.wall for r in runs), max(r.rss_mb for r in runs)
    )


IMPORT_CODE = """\
import os, sys, time
sys.path[:0] = [{folder!r}, {apps!r}]
import {apps_module}
start = time.perf_counter_ns()
import {module}
elapsed = time.perf_counter_ns() - start
assert callable({module}.application)
assert {module}.__file__.startswith({folder!r}), {module}.__file__
assert os.path.exists({module}.__cached__) is {warm}, "a .pyc where none belongs, or none"
print(elapsed)
"""


def time_import(folder: Path, module: str, repeats: int) -> tuple[float | None, str]:
    """Milliseconds to import the generated module in a fresh process, warm .pyc.

    The target applications' module is imported first (it is the user's code,
    not dispatchc's); the first run writes the .pyc and is not counted.
    """
    code = IMPORT_CODE.format(
        folder=str(folder), apps=str(folder), apps_module=APPS, module=module, warm=True
    )
    best = math.inf
    for i in range(repeats + 1):
        run = run_child([sys.executable, "-c", code], child_env())
        if run.returncode:
            return None, f"import failed: {last_line(run.output)}"
        if i:
            best = min(best, int(run.output) / 1e6)
    return best, ""


def time_cold_import(folder: Path, module: str, repeats: int) -> tuple[float | None, str]:
    """Seconds to import the generated module in a fresh process without a .pyc.

    Each run imports a fresh copy of the module from a new directory (no
    ``__pycache__``) with ``python -B`` and PYTHONDONTWRITEBYTECODE set, so
    the import compiles the source; the target applications' module is
    imported first, from its own warm .pyc. Min over the repeats.
    """
    best = math.inf
    for i in range(repeats):
        fresh = folder / f"cold-{module}-{i}"
        fresh.mkdir()
        shutil.copy2(folder / f"{module}.py", fresh)
        code = IMPORT_CODE.format(
            folder=str(fresh), apps=str(folder), apps_module=APPS, module=module, warm=False
        )
        env = child_env(PYTHONDONTWRITEBYTECODE="1")
        run = run_child([sys.executable, "-B", "-c", code], env)
        wrote_pyc = (fresh / "__pycache__").exists()
        shutil.rmtree(fresh)
        if run.returncode:
            return None, f"import failed: {last_line(run.output)}"
        if wrote_pyc:  # only if the harness itself is broken
            raise SystemExit(f"cold import of {module} wrote a .pyc")
        best = min(best, int(run.output) / 1e9)
    return best, ""


# -- checking and timing ------------------------------------------------------


def check(app: WSGIApp, environ: dict, expect: tuple[str, str, str]) -> str | None:
    """None when ``app`` hands the request to the right app with the right environ."""
    seen = []

    def probe(status, headers, exc_info=None):
        # Called by the target app (maybe through a wrapper): the app's frame
        # holds the environ it was given.
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.endswith(f"{APPS}.py"):
            frame = frame.f_back
        env = frame.f_locals.get("environ", {}) if frame is not None else {}
        seen.append((status, env.get("SCRIPT_NAME"), env.get("PATH_INFO")))

    try:
        body = b"".join(app(environ.copy(), probe))
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc}"
    name, script, path = expect
    got = (body.decode("latin-1"), *(seen[0][1:] if seen else (None, None)))
    want = (name, script, path)
    if got != want:
        return f"wrong answer: (app, SCRIPT_NAME, PATH_INFO) = {got!r}, expected {want!r}"
    return None


def _run(app: WSGIApp, copy: Callable[[], dict], loops: int) -> int:
    """Nanoseconds for ``loops`` calls of ``app(copy(), start_response)``."""
    start_response = _start_response
    rep = itertools.repeat(None, loops)
    start = time.perf_counter_ns()
    for _ in rep:
        app(copy(), start_response)
    return time.perf_counter_ns() - start


def calibrate(app: WSGIApp, copy: Callable[[], dict], budget_ns: float) -> int:
    """How many calls take about ``budget_ns``."""
    loops = 1
    while True:
        elapsed = _run(app, copy, loops)
        if elapsed >= 1_000_000 or loops >= 1 << 20:
            break
        loops *= 4
    per_call = min(elapsed, _run(app, copy, loops)) / loops
    return max(3, round(budget_ns / per_call))


@dataclass
class Item:
    n: int
    label: str
    app: WSGIApp
    copy: Callable[[], dict]
    loops: int = 0
    best: float = math.inf


def time_cases(cases: list[Case], rounds: int, budget_ns: float, rng: random.Random) -> list[Item]:
    """Min ns per call of every dispatcher and baseline of the cases, interleaved."""
    items = []
    for case in cases:
        copy = case.environ.copy
        items.append(Item(case.n, BASELINE, case.target, copy))
        items += [Item(case.n, label, app, copy) for label, app in case.candidates.items()]
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for item in items:
            item.loops = calibrate(item.app, item.copy, budget_ns)
        for _ in range(rounds):
            rng.shuffle(items)
            for item in items:
                item.best = min(item.best, _run(item.app, item.copy, item.loops) / item.loops)
    finally:
        if enabled:
            gc.enable()
    return items


# -- instruction counts (callgrind) -------------------------------------------

#: Run under ``valgrind --tool=callgrind`` with collection only inside
#: ``operator.call`` (the C function ``_operator_call``, which nothing else
#: here calls) and a dump after each call: dump 1 counts ``loops`` calls of
#: the target app alone, dump 2 the same calls through the dispatcher. Both
#: loops run once uncounted first, so the interpreter has specialised them.
CALLGRIND_CODE = """\
import gc, itertools, json, operator, sys
sys.path[:0] = [{root!r}, {folder!r}]
from tests.benchmarks.bench_dispatch import _start_response, base_environ, check
import {apps_module} as apps
import {module} as generated

with open(sys.argv[1], encoding="utf-8") as file:
    spec = json.load(file)
app = generated.application
target = getattr(apps, spec["expect"][0])
for path, host in spec["warm"]:
    app(base_environ(path, host), _start_response)
environ = base_environ(spec["path"], spec["host"])
problem = check(app, environ, tuple(spec["expect"]))
if problem:
    sys.exit(problem)
copy = environ.copy


def run(f):
    for _ in itertools.repeat(None, spec["loops"]):
        f(copy(), _start_response)


gc.disable()
run(target)
run(app)
operator.call(run, target)
operator.call(run, app)
"""


def count_instructions(
    folder: Path, module: str, request: dict, loops: int
) -> tuple[float | None, str]:
    """Instructions per request of the generated module's ``application``,
    minus those of calling the target app directly (callgrind's Ir, mean of
    ``loops`` identical requests after the warm-up; PYTHONHASHSEED fixed)."""
    code = CALLGRIND_CODE.format(
        root=str(ROOT), folder=str(folder), apps_module=APPS, module=module
    )
    with tempfile.TemporaryDirectory(prefix="dcbench-callgrind-") as tmpdir:
        out = Path(tmpdir) / "callgrind.out"
        spec = Path(tmpdir) / "request.json"
        spec.write_text(json.dumps(request | {"loops": loops}), encoding="utf-8")
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "-q",
            "--collect-atstart=no",
            "--toggle-collect=_operator_call",
            "--dump-after=_operator_call",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-c",
            code,
            str(spec),
        ]
        run = run_child(cmd, child_env(PYTHONHASHSEED="0"))
        if run.returncode:
            return None, f"callgrind run failed: {last_line(run.output)}"
        totals = []
        for dump in (out.with_name(out.name + ".1"), out.with_name(out.name + ".2")):
            if not dump.exists():
                return None, "callgrind saw no call of _operator_call (a Python without symbols?)"
            lines = dump.read_text().splitlines()
            totals += [int(line.split()[1]) for line in lines if line.startswith("totals:")]
    app_alone, dispatched = totals
    return (dispatched - app_alone) / loops, ""


# -- results ------------------------------------------------------------------


@dataclass
class Verdict:
    group: str
    what: str
    limit: str
    measured: str
    ok: bool


@dataclass
class ScenarioResult:
    scenario: Scenario
    baseline: dict[int, float] = field(default_factory=dict)  # N -> ns per call
    overhead: dict[tuple[int, str], float] = field(default_factory=dict)  # (N, label) -> ns
    errors: dict[tuple[int, str], str] = field(default_factory=dict)
    # N -> the timed request, for a callgrind child: path, host, warm, expect
    requests: dict[int, dict] = field(default_factory=dict)
    # (N, dispatchc label) -> instructions per request over the app alone
    instructions: dict[tuple[int, str], float] = field(default_factory=dict)

    def get(self, n: int, label: str) -> float | None:
        return self.overhead.get((n, label))


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_n(n: int) -> str:
    return f"{n:,}"


def fmt_ns(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def fmt_ratio(value: float | None, limit: float | None = None) -> str:
    if value is None:
        return "n/a FAIL" if limit is not None else "n/a"
    text = f"{value:#.3g}"
    return text if limit is None else f"{text} {mark(value <= limit)}"


def verdicts_for(result: ScenarioResult, sizes: list[int]) -> list[Verdict]:
    sc = result.scenario
    out = []
    for peer, limit in sc.ratios:
        values = [(ratio(result.get(n, DC), result.get(n, peer)), n) for n in sizes]
        if any(v is None for v, _ in values):
            missing = [fmt_n(n) for v, n in values if v is None]
            measured, ok = f"not measured at N = {', '.join(missing)}", False
        else:
            worst, at = max(values)
            measured, ok = f"{worst:#.3g} (worst, at N = {fmt_n(at)})", worst <= limit
        out.append(Verdict(sc.title, f"{DC} / {peer}, every N", f"≤ {limit}", measured, ok))
    lo, hi = min(sizes), max(sizes)
    flat = ratio(result.get(hi, DC), result.get(lo, DC))
    out.append(
        Verdict(
            sc.title,
            f"flat: {DC} at N = {fmt_n(hi)} / at N = {fmt_n(lo)}",
            f"≤ {FLAT_LIMIT}",
            "not measured" if flat is None else f"{flat:#.3g}",
            flat is not None and flat <= FLAT_LIMIT,
        )
    )
    return out


# -- output -------------------------------------------------------------------


class Report:
    def __init__(self, markdown: bool):
        self.markdown = markdown

    def out(self, text: str = "") -> None:
        print(text, flush=True)

    def heading(self, text: str) -> None:
        self.out(f"### {text}" if self.markdown else f"== {text} ==")
        self.out()

    def para(self, text: str) -> None:
        self.out(text)
        self.out()

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        """Columns of numbers are right-aligned, others left-aligned."""
        numeric = [
            i > 0 and all(c[:1].isdigit() or c == "—" or c.startswith("n/a") for c in column)
            for i, column in enumerate(zip(*rows, strict=True))
        ] or [False] * len(headers)
        if self.markdown:
            self.out("| " + " | ".join(headers) + " |")
            self.out("|" + "|".join("--:" if right else ":--" for right in numeric) + "|")
            for row in rows:
                self.out("| " + " | ".join(row) + " |")
        else:
            widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
            for row in [headers, ["-" * w for w in widths], *rows]:
                cells = [
                    c.rjust(w) if right else c.ljust(w)
                    for c, w, right in zip(row, widths, numeric, strict=True)
                ]
                self.out("  ".join(cells).rstrip())
        self.out()


def shown(arg: str) -> str:
    """A path inside the repository relative to it (for the report)."""
    path = Path(arg)
    return str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else arg


def machine_info() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("dispatchc", "werkzeug"))
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "dispatchc"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit = head + (" + uncommitted changes in dispatchc/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return [
        ("CPU", f"{cpu} ({os.cpu_count()} cores, {usable} usable)"),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", versions),
        ("commit", commit),
        *(
            (f"build command ({label})", " ".join(map(shown, COMMANDS[label])))
            for label in dc_labels()
        ),
    ]


def plot(path: Path, results: list[ScenarioResult], sizes: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    styles = {
        DC: ("tab:red", "o", 2.6),
        DC_BEFORE: ("tab:orange", "o", 1.6),
        FLOOR: ("tab:gray", "s", 1.6),
        DM: ("tab:blue", "^", 1.6),
        WZ_MAP: ("tab:purple", "v", 1.6),
        HOST_DICT: ("tab:gray", "s", 1.6),
        FLASK_SUB: ("tab:green", "D", 1.6),
        FLASK_PATH: ("tab:green", "D", 1.6),
    }
    cols = min(3, len(results))
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    for ax, result in zip(axes.flat, results, strict=False):
        for label in [*dc_labels(), *result.scenario.peers]:
            points = [(n, result.get(n, label)) for n in sizes]
            points = [(n, max(v, 1.0)) for n, v in points if v is not None]
            if not points:
                continue
            color, marker, width = styles[label]
            ax.plot(
                *zip(*points, strict=True), color=color, marker=marker, linewidth=width, label=label
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [fmt_n(n) for n in sizes])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.yaxis.set_minor_locator(NullLocator())
        low, high = ax.get_ylim()
        ax.set_ylim(low / 1.3, high * 4)  # room for the legend above the lines
        ax.set_title(f"{result.scenario.title}: {result.scenario.request}", fontsize=9)
        ax.set_xlabel("N (routes, hosts or cached apps)")
        ax.set_ylabel("overhead per request (ns)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    for ax in list(axes.flat)[len(results) :]:
        ax.set_visible(False)
    fig.suptitle("Per-request dispatch overhead against N (lower is better)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


# -- main ---------------------------------------------------------------------


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.bench_dispatch",
        description="Per-request dispatch overhead of dispatchc against its peers (issue 5), "
        "and the cost of building and importing large modules (issues 5 and 10).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N up to 1,000, few rounds, one build of the mounts files",
    )
    parser.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="also draw overhead against N per dispatcher (needs matplotlib)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--rounds", type=int, help="timing rounds (default 40, quick 7)")
    parser.add_argument(
        "--budget-ms", type=float, help="time of one measurement loop (default 5, quick 2)"
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma-separated N (default 10,100,1000,10000; quick up to 1000)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.key for s in SCENARIOS],
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=5, help="seed of the shuffled order")
    parser.add_argument(
        "--dispatchc",
        metavar="COMMAND",
        type=shlex.split,
        help="the build command (default: the dispatchc script beside python)",
    )
    parser.add_argument(
        "--compare",
        metavar="COMMAND",
        type=shlex.split,
        help=f"also build with COMMAND (e.g. an older dispatchc) and measure that as "
        f"{DC_BEFORE!r} in the same interleaved runs, builds and imports",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="also count instructions per request with valgrind's callgrind "
        "(every scenario at the smallest and largest N, every dispatchc build)",
    )
    parser.add_argument(
        "--callgrind-loops",
        type=int,
        default=1000,
        metavar="K",
        help="requests counted per callgrind run (default 1000; the count is per request)",
    )
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument(
        "--build-only",
        action="store_true",
        help="only the build and import measurements, no per-request timing",
    )
    parts.add_argument(
        "--skip-builds",
        action="store_true",
        help="only the per-request measurements, no build or import timing",
    )
    parser.add_argument(
        "--build-repeats",
        type=int,
        metavar="R",
        help="builds per routing file (default 5, at 100,000 routes at most 3; quick 1)",
    )
    args = parser.parse_args(argv)
    if args.callgrind and not shutil.which("valgrind"):
        parser.error("--callgrind needs valgrind (apt-get install valgrind)")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: .venv/bin/pip install -e '.[bench]'")
    args.sizes = sorted(set(args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)))
    args.rounds = args.rounds or (7 if args.quick else 40)
    args.budget_ms = args.budget_ms or (2.0 if args.quick else 5.0)
    return args


def run_scenario(
    sc: Scenario,
    sizes: list[int],
    apps: ModuleType,
    build_errors: dict[str, dict[str, str]],
    args: argparse.Namespace,
    rng: random.Random,
) -> ScenarioResult:
    """Set up, check and time one scenario at every N (all interleaved)."""
    result = ScenarioResult(sc)
    cases = []
    for n in sizes:
        progress(f"{sc.key}: N = {fmt_n(n)}: setting up the dispatchers ...")
        generated: dict[str, tuple[WSGIApp | None, str | None]] = {}
        for label, errors in build_errors.items():  # DC, and DC_BEFORE with --compare
            name = module_name(sc.source, n, label)
            error = errors.get(name) or errors.get("*")
            generated[label] = (None, error) if error else load_generated(name)
        case = sc.make(n, apps, generated[DC][0])
        for label, (dc, error) in generated.items():
            if label != DC and dc is not None:
                case.candidates[label] = dc
            if error:
                case.errors[label] = error
        for label, app in list(case.candidates.items()):
            for environ in case.warm:
                app(environ.copy(), _start_response)
            problem = check(app, case.environ, case.expect)
            if problem:
                case.errors[label] = problem
                del case.candidates[label]
        body = b"".join(case.target(case.environ.copy(), _start_response))
        if body != case.expect[0].encode():  # only if the harness itself is broken
            raise SystemExit(f"{sc.key} N={n}: wrong target app {body!r}")
        for label, error in case.errors.items():
            result.errors[(n, label)] = error
            progress(f"  {label} NOT TIMED: {error}")
        result.requests[n] = {
            "path": case.environ["PATH_INFO"],
            "host": case.environ["HTTP_HOST"],
            "warm": [[e["PATH_INFO"], e["HTTP_HOST"]] for e in case.warm],
            "expect": list(case.expect),
        }
        cases.append(case)
    count = sum(len(c.candidates) + 1 for c in cases)
    progress(f"{sc.key}: timing {count} dispatchers and baselines x {args.rounds} rounds ...")
    items = time_cases(cases, args.rounds, args.budget_ms * 1e6, rng)
    for item in items:
        if item.label == BASELINE:
            result.baseline[item.n] = item.best
    for item in items:
        if item.label != BASELINE:
            result.overhead[(item.n, item.label)] = item.best - result.baseline[item.n]
    return result


def run_callgrind(result: ScenarioResult, tmp: Path, loops: int) -> None:
    """Count the instructions per request of every dispatchc build of the
    scenario, at the smallest and the largest N (each run takes seconds)."""
    sc = result.scenario
    for n in sorted({min(result.requests), max(result.requests)}):
        request = result.requests[n]
        for label in COMMANDS:
            if (n, label) in result.errors:
                continue
            progress(f"{sc.key}: N = {fmt_n(n)}: {label} under callgrind ...")
            name = module_name(sc.source, n, label)
            count, error = count_instructions(tmp, name, request, loops)
            if count is None:
                result.errors[(n, label)] = error
                progress(f"  {label}: {error}")
            else:
                result.instructions[(n, label)] = count


def dc_labels() -> list[str]:
    """The dispatchc builds measured: DC, and DC_BEFORE with --compare."""
    return [label for label in (DC, DC_BEFORE) if label in COMMANDS]


def report_scenario(report: Report, result: ScenarioResult, sizes: list[int]) -> list[Verdict]:
    sc = result.scenario
    labels = [*dc_labels(), *sc.peers]
    report.heading(f"{sc.title}: {sc.request}")
    report.para(f"Routing: {sc.routes}. Overhead in ns per request (k = N - 1).")
    headers = ["N", f"{BASELINE} (ns)", *labels]
    headers += [f"{DC} / {peer} (≤ {limit})" for peer, limit in sc.ratios]
    compare = DC_BEFORE in COMMANDS
    if compare:
        headers.append(f"{DC} / {DC_BEFORE}")
    rows = []
    for n in sizes:
        row = [fmt_n(n), fmt_ns(result.baseline.get(n))]
        row += [fmt_ns(result.get(n, label)) for label in labels]
        row += [
            fmt_ratio(ratio(result.get(n, DC), result.get(n, peer)), limit)
            for peer, limit in sc.ratios
        ]
        if compare:
            row.append(fmt_ratio(ratio(result.get(n, DC), result.get(n, DC_BEFORE))))
        rows.append(row)
    report.table(headers, rows)
    low, high = min(result.baseline.values()), max(result.baseline.values())
    if high > 1.25 * low:
        warning = (
            f"Warning: the app alone took from {low:.0f} to {high:.0f} ns across N: "
            f"the machine was noisy; rerun, or raise --rounds."
        )
        progress(warning)
        report.para(warning)
    for (n, label), error in sorted(result.errors.items()):
        report.para(f"Not timed: {label} at N = {fmt_n(n)}: {error}")
    verdicts = verdicts_for(result, sizes)
    flat = verdicts[-1]
    report.para(f"{flat.what} = {flat.measured} ({flat.limit}): {mark(flat.ok)}")
    return verdicts


def report_dispatchc(report: Report, results: list[ScenarioResult], sizes: list[int]) -> None:
    """The dispatchc builds side by side: ns (from the runs above) and instructions."""
    labels = dc_labels()
    counted = any(r.instructions for r in results)
    if not results or (len(labels) < 2 and not counted):
        return
    before_after = labels == [DC, DC_BEFORE]
    order = [DC_BEFORE, DC] if before_after else labels
    short = {DC: "after", DC_BEFORE: "before"} if before_after else {DC: DC}
    headers = ["scenario", "N", *(f"{short[label]} (ns)" for label in order)]
    if before_after:
        headers.append("after / before (ns)")
    if counted:
        headers += [f"{short[label]} (instructions)" for label in order]
        if before_after:
            headers.append("after / before (instructions)")
    rows = []
    for result in results:
        for n in sizes:
            row = [result.scenario.title, fmt_n(n)]
            row += [fmt_ns(result.get(n, label)) for label in order]
            if before_after:
                row.append(fmt_ratio(ratio(result.get(n, DC), result.get(n, DC_BEFORE))))
            if counted:
                counts = [result.instructions.get((n, label)) for label in order]
                row += [fmt_ns(c) for c in counts]
                if before_after:  # counted at the smallest and largest N only
                    counted_here = any(c is not None for c in counts)
                    row.append(fmt_ratio(ratio(counts[1], counts[0])) if counted_here else "—")
            rows.append(row)
    report.heading("Before and after" if before_after else "Instructions per request")
    text = "Overhead per request of each dispatchc build, in ns (from the interleaved runs above)"
    if before_after:
        text += f"; before: `{' '.join(map(shown, COMMANDS[DC_BEFORE]))}`"
    if counted:
        text += (
            ", and in instructions (valgrind's callgrind: the mean of identical requests "
            "after a warm-up, minus the same calls of the app alone; deterministic, so "
            "a small difference is real where one in ns may be noise)"
        )
    report.para(text + ".")
    report.table(headers, rows)


@dataclass
class BuildFile:
    """A routing file whose ``dispatchc build`` and import are measured, with its limits."""

    stem: str
    n: int
    cpu_s: float | None = None  # issue 10: CPU time (user + sys) of the build
    rss_mb: float | None = None  # issue 10: peak RSS of the build
    wall_s: float | None = None  # issue 5: wall clock of the build
    warm_ms: float | None = None  # import with a .pyc (issue 10: 30 ms; issue 5: 50 ms)
    cold_s: float | None = None  # issue 10: import without a .pyc


BUILD_FILES = [
    BuildFile(
        "mounts",
        BUILD_ROUTES,
        cpu_s=BUILD_CPU_LIMIT_S[BUILD_ROUTES],
        wall_s=BUILD_LIMIT_S,
        warm_ms=WARM_IMPORT_LIMIT_MS,
    ),
    BuildFile(
        "mounts",
        BIG_ROUTES,
        cpu_s=BUILD_CPU_LIMIT_S[BIG_ROUTES],
        rss_mb=BUILD_RSS_LIMIT_MB[BIG_ROUTES],
        cold_s=COLD_IMPORT_LIMIT_S,
    ),
    BuildFile("nested", BUILD_ROUTES, wall_s=BUILD_LIMIT_S, warm_ms=IMPORT_LIMIT_MS),
    BuildFile("hosts", BUILD_ROUTES, wall_s=BUILD_LIMIT_S, warm_ms=IMPORT_LIMIT_MS),
]


def time_builds(
    folder: Path, spec: BuildFile, labels: list[str], repeats: int
) -> dict[str, BuildTime]:
    """``dispatchc build FILE`` of every label, ``repeats`` times, interleaved."""
    runs: dict[str, list[Usage]] = {label: [] for label in labels}
    errors: dict[str, str] = {}
    commands = {}
    for label in labels:
        src = folder / f"{module_name(spec.stem, spec.n, label)}.disp"
        src.write_text(SOURCES[spec.stem](spec.n), encoding="utf-8")
        commands[label] = [*dispatchc_command(label), "build", str(src)]
    for _ in range(repeats):
        for label in labels:
            if label in errors:
                continue
            run = run_child(commands[label], child_env())
            if run.returncode:
                errors[label] = f"dispatchc build failed: {last_line(run.output)}"
            else:
                runs[label].append(run)
    return {
        label: BuildTime(error=errors[label])
        if label in errors
        else BuildTime(
            min(r.cpu for r in runs[label]),
            min(r.wall for r in runs[label]),
            max(r.rss_mb for r in runs[label]),
        )
        for label in labels
    }


def run_builds(report: Report, tmp: Path, args: argparse.Namespace) -> list[Verdict]:
    """Time ``dispatchc build`` and the import of what it wrote (every label)."""
    files = BUILD_FILES[:2] if args.quick else BUILD_FILES
    repeats = args.build_repeats or (1 if args.quick else 5)
    warm_repeats, cold_repeats = (3, 1) if args.quick else (5, 3)
    labels = dc_labels()
    folder = tmp / "timed"
    folder.mkdir()
    count = max(spec.n for spec in files)
    (folder / f"{APPS}.py").write_text(APPS_SOURCE.format(count=count), encoding="utf-8")
    verdicts = []
    rows = []

    def cell(value: float | None, form: str, limit: float | None, unit: str, label: str) -> str:
        """A measurement, with its limit and verdict for DC."""
        if value is None:
            return "—"
        text = form.format(value)
        if limit is None or label != DC:
            return text
        return f"{text} (≤ {limit:g} {unit}) {mark(value <= limit)}"

    for spec in files:
        routes = SOURCES[spec.stem](spec.n).count("->")
        what = f"{module_name(spec.stem, spec.n)}.disp ({routes:,} routes)"
        progress(f"timing dispatchc build of {what}, {repeats} times per build ...")
        # 100,000 routes take seconds per build (and more before issue 10)
        times = time_builds(
            folder, spec, labels, min(repeats, 3) if spec.n > BUILD_ROUTES else repeats
        )
        for label in [DC_BEFORE, DC] if len(labels) > 1 else labels:
            build = times[label]
            name = module_name(spec.stem, spec.n, label)
            millis = seconds = None
            error = build.error
            kind = "warm" if spec.warm_ms is not None else "cold"
            if not error:
                progress(f"timing the {kind} import of {name}.py ...")
                if spec.warm_ms is not None:
                    millis, error = time_import(folder, name, warm_repeats)
                else:
                    seconds, error = time_cold_import(folder, name, cold_repeats)
            if error:
                progress(f"  {label}: {error}")
            if millis is not None:
                imported = cell(millis, "{:.1f} ms warm", spec.warm_ms, "ms", label)
            elif seconds is not None:
                imported = cell(seconds, "{:.2f} s cold", spec.cold_s, "s", label)
            else:
                imported = error or "—"
            rows.append(
                [
                    what,
                    label,
                    build.error or cell(build.cpu, "{:.2f} s", spec.cpu_s, "s", label),
                    cell(build.wall, "{:.2f} s", spec.wall_s, "s", label),
                    cell(build.rss_mb, "{:,.0f} MB", spec.rss_mb, "MB", label),
                    imported,
                ]
            )
            if label != DC:
                continue
            measured = [
                ("CPU time", build.cpu, spec.cpu_s, "s", "{:.2f} s"),
                ("wall clock", build.wall, spec.wall_s, "s", "{:.2f} s"),
                ("peak RSS", build.rss_mb, spec.rss_mb, "MB", "{:,.0f} MB"),
            ]
            for text, value, limit, unit, form in measured:
                if limit is not None:
                    verdicts.append(
                        Verdict(
                            "build",
                            f"{text} of dispatchc build {what}",
                            f"≤ {limit:g} {unit}",
                            build.error or form.format(value),
                            value is not None and value <= limit,
                        )
                    )
            if spec.warm_ms is not None:
                verdicts.append(
                    Verdict(
                        "import",
                        f"import of {name}.py, warm (.pyc present)",
                        f"≤ {spec.warm_ms:g} ms",
                        error or f"{millis:.1f} ms",
                        millis is not None and millis <= spec.warm_ms,
                    )
                )
            if spec.cold_s is not None:
                verdicts.append(
                    Verdict(
                        "import",
                        f"import of {name}.py, cold (no .pyc)",
                        f"≤ {spec.cold_s:g} s",
                        error or f"{seconds:.2f} s",
                        seconds is not None and seconds <= spec.cold_s,
                    )
                )
    report.heading("Build and import")
    report.para(
        f"`dispatchc build FILE` as a whole process, measured by wait4(2) like "
        f"`/usr/bin/time`: CPU time (user + sys, which other load on the machine disturbs "
        f"less than the wall clock) and wall clock, min over {repeats} runs (over "
        f"{min(repeats, 3)} at {fmt_n(BIG_ROUTES)} routes), and the peak RSS, max over the "
        f"same runs. Import of the generated module in a fresh process, after the target apps' "
        f"module: warm with its .pyc written by an uncounted first import (min of "
        f"{warm_repeats}); cold from a fresh copy of the module in a new directory, with "
        f"`python -B` and PYTHONDONTWRITEBYTECODE=1, so that no .pyc exists or is written "
        f"(min of {cold_repeats}). Limits apply to `{DC}`; each is checked in the Targets table."
    )
    report.table(["routing file", "build", "CPU", "wall", "peak RSS", "import"], rows)
    return verdicts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    COMMANDS.clear()
    COMMANDS[DC] = args.dispatchc or default_command()
    if args.compare:
        COMMANDS[DC_BEFORE] = args.compare
    sizes: list[int] = args.sizes
    scenarios = (
        []
        if args.build_only
        else [s for s in SCENARIOS if not args.scenario or s.key in args.scenario]
    )
    rng = random.Random(args.seed)
    report = Report(args.markdown)
    verdicts: list[Verdict] = []
    results: list[ScenarioResult] = []
    started = time.perf_counter()

    report.heading("Machine")
    report.para("\n".join(f"- {k}: {v}" for k, v in machine_info()))
    if scenarios:
        report.para(
            f"Sizes N = {', '.join(map(fmt_n, sizes))}; {args.rounds} rounds of about "
            f"{args.budget_ms:g} ms per dispatcher; overhead = min ns per call of the "
            f"dispatcher minus min ns per call of the target app called directly."
        )
    with tempfile.TemporaryDirectory(prefix="dcbench-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / f"{APPS}.py").write_text(APPS_SOURCE.format(count=max(sizes)), encoding="utf-8")
        stems = sorted({s.source for s in scenarios})
        build_errors = {}
        for label in COMMANDS if scenarios else ():
            progress(f"building {len(stems) * len(sizes)} routing files with {label} ...")
            build_errors[label] = build_all(tmp, stems, sizes, label)
        sys.path.insert(0, str(tmp))
        try:
            apps = importlib.import_module(APPS)
            for sc in scenarios:
                result = run_scenario(sc, sizes, apps, build_errors, args, rng)
                if args.callgrind:
                    run_callgrind(result, tmp, args.callgrind_loops)
                results.append(result)
                verdicts += report_scenario(report, result, sizes)
            report_dispatchc(report, results, sizes)
        finally:
            sys.path.remove(str(tmp))
            sys.modules.pop(APPS, None)
        if not args.skip_builds:
            verdicts += run_builds(report, tmp, args)

    report.heading("Targets")
    report.table(
        ["scenario", "target", "limit", "measured", "result"],
        [[v.group, v.what, v.limit, v.measured, mark(v.ok)] for v in verdicts],
    )
    failed = [v for v in verdicts if not v.ok]
    summary = f"{len(verdicts) - len(failed)} of {len(verdicts)} targets pass"
    if failed:
        summary += "; failing: " + "; ".join(f"{v.group}: {v.what}" for v in failed)
    kind = "quick" if args.quick else "full"
    report.para(f"{summary}. ({kind} run, {time.perf_counter() - started:.0f} s)")

    if args.plot and results:
        plot(args.plot, results, sizes)
        progress(f"wrote {args.plot}")
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
