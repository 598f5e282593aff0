"""Helpers that many test files share: compiling routing text, WSGI environs
and calls, target modules made on the fly, generated-code structure, and a
gunicorn launcher. Fixtures live in ``conftest.py``; Hypothesis strategies
in ``strategies.py``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import itertools
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatchc.compiler import compile_source

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

# -- compiling and importing ------------------------------------------------------

_counter = itertools.count()


def compile_text(text: str, name: str = "routes.disp") -> str:
    """Compile routing text to the generated module's source."""
    raw = textwrap.dedent(text).encode("utf-8")
    return compile_source(Path(name), raw, Path(name))


def load_module(code: str, name: str | None = None) -> types.ModuleType:
    """Execute generated source as a fresh module (not left in sys.modules)."""
    name = name or f"_dispatchc_test_{next(_counter)}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module


def build_module(text: str) -> types.ModuleType:
    return load_module(compile_text(text))


def register(prefix: str = "_dc_test_targets", **attrs: Any) -> str:
    """A throw-away target module in ``sys.modules`` holding ``attrs``;
    returns its name (the caller removes it, or uses ``temporary_targets``)."""
    name = f"{prefix}_{next(_counter)}"
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return name


@contextlib.contextmanager
def temporary_targets(prefix: str = "_dc_test_targets", **attrs: Any) -> Iterator[types.ModuleType]:
    """``register`` for the duration of a block: yields the module."""
    name = register(prefix, **attrs)
    try:
        yield sys.modules[name]
    finally:
        sys.modules.pop(name, None)


def build_with(text: str, **attrs: Any) -> types.ModuleType:
    """Compile ``text``, where ``T:`` names a target module holding ``attrs``,
    and import it. Targets must not be ``lazy``: the target module leaves
    ``sys.modules`` once the generated module is loaded."""
    with temporary_targets(**attrs) as module:
        return load_module(compile_text(text.replace("T:", module.__name__ + ":")))


# -- WSGI -----------------------------------------------------------------------


def environ(host: str | None = "example.com", path: str = "/", **extra: Any) -> dict[str, Any]:
    """A WSGI environ for ``host`` (None: no Host header) and PATH_INFO
    ``path``; ``extra`` sets keys, and a value of None removes one."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "server.invalid",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    }
    if host is not None:
        env["HTTP_HOST"] = host
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Response:
    """What a WSGI app answered: the status line, headers and body."""

    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line[:3])

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def call(app: Callable[..., Any], env: dict[str, Any]) -> Response:
    """Call a WSGI app once; ``start_response`` must be called exactly once,
    and the body iterable is closed as a server would."""
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append((status, list(headers)))
        return lambda data: None

    result = app(env, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    assert len(seen) == 1, seen
    return Response(seen[0][0], seen[0][1], body)


class Label:
    """A WSGI app that answers 200 with its label (UTF-8). Given lists, it
    remembers there each environ it saw (``seen``) and its label
    (``labels``); without, it keeps nothing (memory tests count on that)."""

    def __init__(
        self,
        label: str,
        seen: list[dict[str, Any]] | None = None,
        labels: list[str] | None = None,
    ):
        self.label = label
        self.seen = seen
        self.labels = labels

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if self.seen is not None:
            self.seen.append(dict(environ))
        if self.labels is not None:
            self.labels.append(self.label)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [self.label.encode("utf-8")]


def target_module(prefix: str = "_dc_test_targets") -> types.ModuleType:
    """A target module for routing text written with ``T:`` (see
    ``build_app``), registered in ``sys.modules``:

    - ``T:app`` answers "app"; ``T:named("x")`` makes an app answering "x";
      ``T:make(...)`` one answering the repr of its arguments;
      ``T:maybe(label, ...)`` is ``make`` but returns None when ``label`` is
      in ``T.refuse``;
    - ``T.calls`` records factory calls (``named``: the label, else the
      arguments); ``T.seen`` every environ an app saw, ``T.labels`` its label.
    """
    module = sys.modules[register(prefix)]
    module.calls, module.seen, module.labels, module.refuse = [], [], [], set()

    def app(label: str) -> Label:
        return Label(label, module.seen, module.labels)

    def named(label: str) -> Label:
        module.calls.append(label)
        return app(label)

    def make(*args: Any) -> Label:
        module.calls.append(args)
        return app(repr(args))

    def maybe(label: Any, *rest: Any) -> Label | None:
        module.calls.append((label, *rest))
        return None if label in module.refuse else app(repr((label, *rest)))

    module.app = app("app")
    module.named, module.make, module.maybe = named, make, maybe
    return module


def build_app(module: types.ModuleType, text: str) -> Callable[..., Any]:
    """Compile ``text``, where ``T:`` names ``module``, import it and
    return its ``application``."""
    return build_module(text.replace("T:", module.__name__ + ":")).application


# -- threads ------------------------------------------------------------------

#: Deadlock detector for joins and waits, in seconds (not a speed bound).
JOIN = 30.0


class Worker(threading.Thread):
    """Runs ``fn(*args)`` in a daemon thread, keeping its result or its
    exception."""

    def __init__(self, fn: Callable[..., Any], *args: Any):
        super().__init__(daemon=True)
        self._fn, self._args = fn, args
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._fn(*self._args)
        except BaseException as exc:  # re-raised by finish()
            self.error = exc

    def finish(self, timeout: float = JOIN) -> Any:
        """Join (deadlock-bounded); return the result or re-raise the error."""
        self.join(timeout)
        assert not self.is_alive(), "a request is still blocked: a lock is held or a call waits"
        if self.error is not None:
            raise self.error
        return self.result


def started(fn: Callable[..., Any], *args: Any) -> Worker:
    worker = Worker(fn, *args)
    worker.start()
    return worker


# -- generated code -------------------------------------------------------------

#: Names the compiler owns in generated modules.
COMPILER_PREFIXES = ("_dc", "_Dc", "_DC")
_COMPILER_NAME = re.compile(r"_(?:dc|Dc|DC)[A-Za-z0-9_]*")


def compiler_names(code: str) -> set[str]:
    """Every compiler-owned name the module binds or uses."""
    return {name for name in _names(ast.parse(code)) if name.startswith(COMPILER_PREFIXES)}


def _names(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Global | ast.Nonlocal):
            yield from node.names
        elif isinstance(node, ast.arg):
            yield node.arg


class _Renamer(ast.NodeVisitor):
    """Renames compiler-owned names ``_dc0``, ``_dc1``... by order of first
    appearance (depth first, in source order)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        if not name.startswith(COMPILER_PREFIXES):
            return name
        return self.names.setdefault(name, f"_dc{len(self.names)}")

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            node.id = self.rename(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.name = self.rename(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            node.names = [self.rename(n) for n in node.names]
        elif isinstance(node, ast.arg):
            node.arg = self.rename(node.arg)
        super().generic_visit(node)


def skeleton(code: str) -> str:
    """The module's AST with every string and integer constant blanked out
    (integers too: lengths of constant strings are emitted as constants)
    and every compiler-owned name (``_dc``/``_Dc``/``_DC``) renamed by order
    of first appearance: names come from what they name (block, route,
    target), so text in a routing file changes them, but never what the
    module does with them. Each such name must be a plain ASCII identifier,
    so that no routing text reaches the module through a name."""
    tree = ast.parse(code)
    for name in _names(tree):
        if name.startswith(COMPILER_PREFIXES):
            assert _COMPILER_NAME.fullmatch(name), f"compiler-owned name {name!r} is not plain"
    _Renamer().visit(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = "<str>"
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            node.value = 0
    return ast.dump(tree)


def string_constants(code: str) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def constants(code: str) -> list[Any]:
    """Every constant, in ``ast.walk`` order."""
    return [n.value for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant)]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: no PYTHON* or virtualenv
    variables of ours, no bytecode written; ``extra`` added."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTHON") and key not in ("VIRTUAL_ENV", "GUNICORN_CMD_ARGS")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


# -- gunicorn ---------------------------------------------------------------------

GUNICORN_START = 30.0
GUNICORN_STOP = 10.0


def free_port() -> int:
    """A port that was free a moment ago (gunicorn cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_flags() -> list[str]:
    """Flags every test gunicorn gets: gunicorn >= 24 opens a control
    socket in ~/.gunicorn by default, shared by every gunicorn of the
    user: not for a test server."""
    from gunicorn.config import KNOWN_SETTINGS

    flags = {cli for setting in KNOWN_SETTINGS for cli in (setting.cli or ())}
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child, then kill it if it does not stop in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=GUNICORN_STOP)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=GUNICORN_STOP)


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + GUNICORN_START
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(
        f"gunicorn did not listen on {port} in {GUNICORN_START}s:\n"
        + log.read_text(errors="replace")
    )


@contextlib.contextmanager
def gunicorn(directory: Path, app: str, logs: Path, *extra: str) -> Iterator[int]:
    """gunicorn serving ``app`` (``module:application``) from ``directory``
    on 127.0.0.1 with one worker; yields its port; always stops it. Its log
    is written under ``logs``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GUNICORN_CMD_ARGS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    last_error: Exception | None = None
    for attempt in range(3):  # the free port may be taken before gunicorn binds it
        port = free_port()
        log = logs / f"gunicorn-{port}-{attempt}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--chdir", str(directory)]
                + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "30"]
                + ["--graceful-timeout", "2", "--log-level", "warning", "--error-logfile", "-"]
                + [*gunicorn_flags(), *extra, app],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        try:
            try:
                _wait_until_listening(proc, port, log)
            except (RuntimeError, TimeoutError) as exc:
                last_error = exc
                continue
            yield port
            return
        finally:
            stop(proc)
    raise AssertionError(f"could not start gunicorn: {last_error}")


# -- redirect Locations in generated code --------------------------------------------


def _loads(function: ast.FunctionDef) -> dict[str, tuple[str, Any]]:
    """``vN = parts[i]`` / ``vN = host['name']`` in a route function, as
    ``{"vN": ("part", i) | ("host", "name")}``."""
    found: dict[str, tuple[str, Any]] = {}
    for stmt in function.body:
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Subscript)
            and isinstance(stmt.value.value, ast.Name)
            and isinstance(stmt.value.slice, ast.Constant)
        ):
            source = {"parts": "part", "host": "host"}[stmt.value.value.id]
            found[stmt.targets[0].id] = (source, stmt.value.slice.value)
    return found


def _pieces(node: ast.expr, loads: dict[str, tuple[str, Any]]) -> list[tuple[Any, ...]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [("text", node.value)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pieces(node.left, loads) + _pieces(node.right, loads)
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name), ast.dump(
        node
    )
    if isinstance(node.func, ast.Attribute):  # ''.join((a, b, ...))
        assert node.func.attr == "join" and ast.literal_eval(node.func.value) == "", ast.dump(node)
        (items,) = node.args
        assert isinstance(items, ast.Tuple)
        return [p for item in items.elts for p in _pieces(item, loads)]
    name = node.func.id
    if name == "_dc_quote":
        variable, extra = node.args
        assert isinstance(variable, ast.Name) and ast.literal_eval(extra) == ""
        return [("capture", *loads[variable.id])]
    if name == "_dc_quote_path":
        assert ast.unparse(node.args[0]) == "environ.get('PATH_INFO', '')"
        return [("path",)]
    if name == "_dc_relative":
        return [("relative", tuple(_pieces(node.args[0], loads)))]
    raise AssertionError(f"unexpected call in a Location: {ast.dump(node)}")


def redirect_locations(code: str) -> dict[str, list[tuple[Any, ...]]]:
    """The Location of every redirect in a generated module, as pieces:
    ``("text", constant)``, ``("capture", "part" | "host", index or name)``,
    ``("path",)`` and ``("relative", pieces)`` (a Location made safe at run
    time). Keyed by the route function's name, or by the constant's text for
    a redirect with nothing to substitute (``_DcRedirect(status, text)``).
    Anything else in a Location expression fails: only constants and the
    run time's quoting functions build one."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    tree = ast.parse(code)
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name.startswith("_dc_route_"):
            loads = _loads(stmt)
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_dc_redirect":
                    found[stmt.name] = _pieces(node.args[3], loads)
        elif not isinstance(stmt, ast.FunctionDef | ast.ClassDef):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_DcRedirect":
                    status, location = node.args
                    assert isinstance(status, ast.Constant) and isinstance(location, ast.Constant)
                    found[location.value] = [("text", location.value)]
    return found


# -- what a module defines and what reaches what ---------------------------------------


def top_level(code: str) -> dict[str, set[str]]:
    """Each name a module's top-level statements bind, with the names its
    statement refers to (its own body, nested functions included). Imports
    are left out: they are names, not definitions."""
    graph: dict[str, set[str]] = {}
    for stmt in ast.parse(code).body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound = {stmt.name}
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        else:
            continue
        uses = set(_names(stmt)) - bound
        for name in bound:
            graph.setdefault(name, set()).update(uses)
    return graph


def reachable(graph: dict[str, set[str]], roots: Iterator[str] | tuple[str, ...]) -> set[str]:
    """The names of ``graph`` reachable from ``roots`` through references."""
    seen: set[str] = set()
    todo = [r for r in roots if r in graph]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in graph[name] if n in graph and n not in seen)
    return seen


def unreachable(code: str, root: str = "application") -> set[str]:
    """Top-level definitions that nothing reachable from ``root`` names."""
    graph = top_level(code)
    assert root in graph, f"{root} is not defined"
    return set(graph) - reachable(graph, (root,))
