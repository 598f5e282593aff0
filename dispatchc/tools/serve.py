"""``dispatchc serve FILE``: compile in memory and serve with werkzeug's dev server.

The routing file is compiled to source exactly as ``dispatchc build`` would
(``compile_file``), and that source is executed into a fresh module object
(``types.ModuleType``, registered in ``linecache`` under a ``<dispatchc serve
...>`` name so tracebacks and werkzeug's debugger show the generated code).
Nothing is written beside the routing file. The file's directory and the
current directory go first on ``sys.path``, so targets import as they would
under ``gunicorn --chdir``.

How reloading works
-------------------

Two kinds of edits, two mechanisms:

* **The routing file** is watched by this module, in process. A daemon thread
  reads the file every ``POLL_INTERVAL`` seconds (reading a routing file is
  cheaper than being clever with mtimes, and it cannot miss an edit on a file
  system with coarse timestamps); when the bytes change, it waits for them to
  settle (an editor may still be writing), compiles, executes the new module,
  and swaps its ``application`` into ``LiveApplication``, the WSGI callable the
  server holds. The swap is one attribute assignment: a request in flight
  finishes on the table it started with. When the edit is broken (a
  ``DispatchError``, or an exception while executing the module, such as a
  target that does not import), the diagnostic goes to stderr followed by
  ``dispatchc: ... keeping the last good table``, and the previous table keeps
  answering.

  The routing file is deliberately *not* in werkzeug's ``extra_files``: the
  reloader would restart the process on every edit, and a process restarted
  on a broken edit has no table left to keep serving.

* **Python files** (the target applications) are werkzeug's job:
  ``run_simple(use_reloader=True)`` serves from a child process that exits
  when an imported module (or a ``.py`` file under a ``sys.path`` entry such as
  the routing file's directory) changes, and the parent starts a new one.
  A new child recompiles the routing file. If that file is broken at that
  moment (the user is mid-edit), the child still serves the last good table:
  every table that loads is also saved, as generated source, in a private
  temporary directory created by the parent (``DISPATCHC_SERVE_STATE``, mode
  0700, removed when the server stops), and a child that cannot compile the
  file executes that source instead.

The parent process only checks that the file compiles (exit 1 with the
diagnostics if it does not) and binds the socket; it never imports the target
applications. A target that fails to import in the child is treated like a
broken edit: the traceback is printed, requests get a plain 500 until the
routing file or the Python file is fixed, and nothing is leaked in the
response.

Exit codes: 0 when stopped (Ctrl+C or SIGTERM; werkzeug's parent kills its
child), 1 when FILE has errors at start (or werkzeug cannot bind the port),
2 when FILE cannot be read or the port is out of range (``run`` raises
``UsageError``, which the command line turns into exit 2).

It binds 127.0.0.1 unless told otherwise; any other address gets a warning
that the dev server (and, with ``--debug``, its debugger) is not for
production. ``--debug`` turns on werkzeug's debugger, whose interactive
console werkzeug only allows for ``localhost`` and ``127.0.0.1`` Host headers.
"""

from __future__ import annotations

import ipaddress
import itertools
import linecache
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from werkzeug.serving import is_running_from_reloader, run_simple

from ..compiler import compile_file
from ..errors import DispatchError, UsageError
from ..files import read_source, write_atomic

STATE_ENV = "DISPATCHC_SERVE_STATE"
"""Environment variable naming the parent's private state directory."""

POLL_INTERVAL = 0.3
"""Seconds between two reads of the routing file."""

SETTLE_INTERVAL = 0.05
"""After a change, re-read this often until two reads agree."""

_builds = itertools.count(1)


def build(path: Path, raw: bytes) -> tuple[str, types.ModuleType]:
    """Compile ``raw`` (the contents of ``path``) and execute it as a module.

    Raises DispatchError for errors in the routing file, and whatever the
    module raises while importing its targets."""
    source = compile_file(path, path.with_suffix(".py"), raw)
    return source, load_source(path, source)


def load_source(path: Path, source: str) -> types.ModuleType:
    """Execute generated source into a fresh module (not in sys.modules)."""
    n = next(_builds)
    filename = f"<dispatchc serve {path.name} #{n}>"
    # Tracebacks and the debugger find the generated lines here; the .py
    # beside the routing file, if any, may be stale.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    name = path.stem if path.stem.isidentifier() else "routes"
    module = types.ModuleType(name)
    exec(compile(source, filename, "exec"), module.__dict__)
    if not callable(getattr(module, "application", None)):
        raise TypeError(f"{filename} defines no callable 'application'")
    return module


class _Unavailable:
    """Answers 500 while no table has ever loaded (details go to stderr)."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = (
            b"500 Internal Server Error\n\n"
            b"dispatchc serve: no routing table is loaded; see the server's terminal.\n"
        )
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


class LiveApplication:
    """The WSGI application being served: the current table's ``application``,
    swapped for a new one when the routing file changes and compiles."""

    def __init__(self, path: Path, state: Path | None = None, stream: TextIO | None = None):
        self.path = path
        self.state = state
        self._stream = stream
        self.app: Any = _Unavailable()
        self.loaded = False
        self._seen: bytes | None = None
        self._unreadable = False
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.app(environ, start_response)  # type: ignore[no-any-return]

    # -- loading -----------------------------------------------------------

    def _say(self, text: str) -> None:
        stream = self._stream or sys.stderr
        print(text, file=stream, flush=True)

    def _read(self) -> bytes | None:
        try:
            raw = read_source(self.path)
        except UsageError as exc:
            if not self._unreadable:
                self._say(f"dispatchc: {exc}; {self._keeping()}")
            self._unreadable = True
            return None
        self._unreadable = False
        return raw

    def _keeping(self) -> str:
        if self.loaded or (self.state is not None and self.state.is_file()):
            return "keeping the last good table"
        return "no table to serve yet (requests get 500)"

    def start(self) -> bool:
        """Load the file; if it does not load, the last good table saved by an
        earlier process, if any. True if the file itself loaded."""
        if self.reload():
            return True
        self.restore()
        return False

    def reload(self, raw: bytes | None = None) -> bool:
        """Compile and swap in ``raw`` (default: the file's current bytes).
        On errors print them, keep the current table and return False."""
        with self._lock:
            if raw is None:
                raw = self._read()
                if raw is None:
                    return False
            self._seen = raw
            try:
                source, module = build(self.path, raw)
            except DispatchError as exc:
                self._say(exc.render())
                self._say(f"dispatchc: {self.path} has errors; {self._keeping()}")
                return False
            except Exception:
                self._say(traceback.format_exc().rstrip())
                self._say(f"dispatchc: {self.path} could not be loaded; {self._keeping()}")
                return False
            self.app = module.application
            self.loaded = True
            self._save(source)
            return True

    def restore(self) -> bool:
        """Serve the last good table saved in ``state``, if there is one."""
        if self.state is None or self.loaded:
            return False
        try:
            source = self.state.read_text(encoding="utf-8")
        except OSError:
            return False
        try:
            module = load_source(self.path, source)
        except Exception:
            self._say(traceback.format_exc().rstrip())
            self._say("dispatchc: the last good table could not be loaded either")
            return False
        with self._lock:
            self.app = module.application
            self.loaded = True
        return True

    def _save(self, source: str) -> None:
        if self.state is None:
            return
        try:
            write_atomic([(self.state, source)])
        except OSError as exc:  # best effort: only restarts need it
            self._say(f"dispatchc: cannot save the table in {self.state}: {exc.strerror or exc}")

    # -- watching ----------------------------------------------------------

    def poll(self) -> bool:
        """Reload if the file changed since it was last read. True if a
        changed file was loaded."""
        raw = self._read()
        if raw is None or raw == self._seen:
            return False
        for _ in range(20):  # let an editor finish writing (at most ~1 s)
            time.sleep(SETTLE_INTERVAL)
            again = self._read()
            if again is None:
                return False
            if again == raw:
                break
            raw = again
        if self.reload(raw):
            self._say(f"dispatchc: reloaded {self.path}")
            return True
        return False

    def watch(self, interval: float = POLL_INTERVAL) -> threading.Thread:
        """Poll the file in a daemon thread until ``stop()``."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.poll()
                except Exception:  # never let the watcher die silently
                    self._say(traceback.format_exc().rstrip())

        thread = threading.Thread(target=loop, name="dispatchc-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


# -- the command -------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host.startswith("unix://"):
        return True
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url(host: str, port: int) -> str:
    if host.startswith("unix://"):
        return host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def banner(path: Path, host: str, port: int, debug: bool) -> list[str]:
    """The lines printed when the server starts."""
    lines = [f"Serving {path} on {url(host, port)} (Ctrl+C to stop)"]
    if not is_loopback(host):
        lines.append(
            f"dispatchc: warning: {host} may be reachable from other machines; "
            "werkzeug's dev server is for development, not for production"
        )
        if debug:
            lines.append(
                "dispatchc: warning: --debug lets anyone who can reach the server "
                "and knows the PIN run code on this machine"
            )
    return lines


def _extend_sys_path(path: Path) -> None:
    """The routing file's directory, then the current directory, go first."""
    for directory in (os.getcwd(), str(path.resolve().parent)):
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != directory]
        sys.path.insert(0, directory)


def _serve(host: str, port: int, debug: bool, app: Any) -> None:
    run_simple(host, port, app, use_reloader=True, use_debugger=debug, threaded=True)


def _parent_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    raise RuntimeError("the reloader's parent process does not serve requests")


def run(path: Path, host: str = "127.0.0.1", port: int = 5000, debug: bool = False) -> int:
    """``dispatchc serve FILE [--host H] [--port P] [--debug]``: serve until
    stopped; the exit status. Raises UsageError when FILE cannot be read or
    the port is out of range."""
    state = os.environ.get(STATE_ENV)
    if is_running_from_reloader() and state:
        # The child: load, watch, serve on the socket the parent bound. It
        # never exits on its own over the routing file: a missing or broken
        # file keeps the last good table.
        live = LiveApplication(path, Path(state) / "last-good.py")
        _extend_sys_path(path)
        live.start()
        live.watch()
        try:
            _serve(host, port, debug, live)
        finally:
            live.stop()
        return 0

    # The parent: refuse a broken file, then let werkzeug bind and spawn.
    raw = read_source(path)
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is not in 0-65535")
    try:
        compile_file(path, path.with_suffix(".py"), raw)
    except DispatchError as exc:
        print(exc.render(), file=sys.stderr)
        print(f"dispatchc: not serving: {path} has errors", file=sys.stderr)
        return 1
    for line in banner(path, host, port, debug):
        print(line, file=sys.stderr, flush=True)
    # Started from inside another werkzeug reloader (a dev server's
    # subprocess)? Its markers would make run_simple act as a child.
    os.environ.pop("WERKZEUG_RUN_MAIN", None)
    os.environ.pop("WERKZEUG_SERVER_FD", None)
    directory = tempfile.mkdtemp(prefix="dispatchc-serve-")
    os.environ[STATE_ENV] = directory
    try:
        _serve(host, port, debug, _parent_app)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        os.environ.pop(STATE_ENV, None)
    return 0
