"""Helpers that many test files share: compiling routing text, WSGI environs
and calls, target modules made on the fly, generated-code structure, a
gunicorn launcher, and the golden files of the Python targets. Fixtures
live in ``conftest.py``; Hypothesis strategies in ``strategies.py``.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import importlib.util
import itertools
import json
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
from urllib.parse import unquote

import pytest

from dispatchc.compiler import compile_source
from dispatchc.ir import RedirectTarget
from dispatchc.plan.matcher import Outcome

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

# -- compiling and importing ------------------------------------------------------

_counter = itertools.count()


def compile_text(text: str, name: str = "routes.disp") -> str:
    """Compile routing text to the generated module's source."""
    raw = textwrap.dedent(text).encode("utf-8")
    return compile_source(Path(name), raw, Path(name))


def compile_asgi(text: str, name: str = "routes.disp") -> str:
    """Routing text compiled with ``--target asgi``."""
    raw = textwrap.dedent(text).encode("utf-8")
    return compile_source(Path(name), raw, Path(name), target="asgi")


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
    a redirect with nothing to substitute (``_DcStatus(status, text)``).
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
                call = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_DcStatus"
                if call and len(node.args) == 2:
                    status, location = node.args
                    assert isinstance(status, ast.Constant) and isinstance(location, ast.Constant)
                    found[location.value] = [("text", location.value)]
    return found


# -- what the reference matcher's answer implies ------------------------------------------


def expected_location(target: RedirectTarget, outcome: Outcome, query: str) -> str:
    """The Location header, percent-decoded (latin-1, as PATH_INFO is)."""
    cand = outcome.candidate
    out = []
    for part in target.parts:
        if part.kind == "text":
            out.append(unquote(part.value, encoding="latin-1"))
        elif part.kind == "path":
            path = cand.path_info
            out.append(path if path.startswith("/") or not path else "/" + path)
        else:
            out.append(cand.captures[part.value])
    location = "".join(out)
    first = target.parts[0] if target.parts else None
    if first is not None and (first.kind == "path" or first.value.startswith("/")):
        # SPEC §1: a Location relative to the host never starts with "//". (A
        # backslash from the request is sent as %5C: only slashes collapse.)
        location = "/" + location.lstrip("/") if location.startswith("//") else location
    if query:
        has_q = any(p.kind == "text" and "?" in p.value for p in target.parts)
        location += ("&" if has_q else "?") + query
    return location


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


# -- golden files of the Python targets ---------------------------------------------------

#: ``DISPATCHC_UPDATE_GOLDEN=1`` rewrites golden files instead of comparing them.
UPDATE_GOLDEN = "DISPATCHC_UPDATE_GOLDEN"
#: The ruff rules every generated Python module passes (SPEC §5).
RUFF_RULES = "E4,E7,E9,F,W,B,UP,SIM,I"
#: Bound on a ruff or import check in a child process (not a speed bound).
CHILD_TIMEOUT = 120


def display(path: Path) -> str:
    """``path`` relative to the repository, when it is inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Goldens:
    """The golden files of a Python target: each
    ``tests/targets/<target>/cases/<name>/routes.disp`` builds with
    ``--target <target>`` to exactly the bytes of ``expected.py`` beside it,
    compared by ``tests/targets/<target>/test_golden.py``."""

    target: str

    @property
    def cases(self) -> list[Path]:
        directory = ROOT / "tests" / "targets" / self.target / "cases"
        return sorted(p for p in directory.iterdir() if (p / "routes.disp").is_file())

    @property
    def regenerate(self) -> str:
        """The command that rewrites them."""
        test = f"tests/targets/{self.target}/test_golden.py"
        return f"{UPDATE_GOLDEN}=1 .venv/bin/python -m pytest {test}"

    @staticmethod
    def updating() -> bool:
        return os.environ.get(UPDATE_GOLDEN) == "1"

    def build(self, disp: Path, output: Path) -> str:
        return compile_source(disp, disp.read_bytes(), output, target=self.target)

    def check(self, disp: Path, expected: Path, *, update: bool) -> None:
        """Compare the build of ``disp`` with ``expected``, byte for byte;
        rewrite it when ``update``."""
        built = self.build(disp, expected).encode("utf-8")
        current = expected.read_bytes() if expected.exists() else None
        if current == built:
            return
        if update:
            expected.write_bytes(built)
            return
        if current is None:
            pytest.fail(
                f"{display(expected)} does not exist.\nCreate it with:\n    {self.regenerate}",
                pytrace=False,
            )
        if current.replace(b"\r\n", b"\n") == built:
            pytest.fail(f"{display(expected)} has CRLF line endings", pytrace=False)
        diff = "".join(
            difflib.unified_diff(
                current.decode("utf-8", "replace").splitlines(keepends=True),
                built.decode("utf-8").splitlines(keepends=True),
                fromfile=f"{display(expected)} (expected)",
                tofile=f"{display(disp)} (built now)",
            )
        )
        pytest.fail(
            f"the build of {display(disp)} differs from {display(expected)}:\n\n{diff}\n"
            f"If the change is intended, regenerate the golden files and review them:\n"
            f"    {self.regenerate}",
            pytrace=False,
        )

    def read(self, path: Path) -> str:
        """A generated module (a golden or a sample output); a failure that
        says how to make it when it is missing."""
        if not path.exists():
            pytest.fail(f"{display(path)} is missing; {self.regenerate}", pytrace=False)
        return path.read_text(encoding="utf-8")


def ruff_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``ruff check`` with SPEC §5's rules and no configuration of ours."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache"]
        + ["--select", RUFF_RULES, str(path)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )


def imported_modules(code: str) -> set[str]:
    """Every module a generated module imports (fails on a relative import
    or ``__import__``: targets are loaded by name, never imported)."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in generated code"
            names.add(node.module or "")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
        ):
            raise AssertionError("__import__ in generated code")
    return names


def loaded_targets(code: str) -> dict[str, set[str]]:
    """module -> dotted attributes that the generated code loads.

    A target is loaded by a call whose first two arguments are string
    literals: a dotted module name and a dotted attribute path.
    """

    def dotted(value: object) -> bool:
        return isinstance(value, str) and all(part.isidentifier() for part in value.split("."))

    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            first, second = node.args[0], node.args[1]
            if (
                isinstance(first, ast.Constant)
                and isinstance(second, ast.Constant)
                and dotted(first.value)
                and dotted(second.value)
            ):
                found.setdefault(first.value, set()).add(second.value)
    return found


_STUB_PRELUDE = '''\
"""A stub target for an import test."""


class _Stub:
    """A WSGI application, an ASGI application (lifespan events, http and
    websocket), a factory returning one, and a namespace."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __call__(self, *args):
        if len(args) == 2 and isinstance(args[0], dict):
            environ, start_response = args
            body = ("stub " + environ.get("SCRIPT_NAME", "") + "|" + environ.get("PATH_INFO", ""))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [body.encode("latin-1")]
        if len(args) == 3 and isinstance(args[0], dict):
            return self._asgi(*args)
        return self

    async def _asgi(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await receive()
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        body = "stub " + scope.get("root_path", "") + "|" + scope["path"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body.encode("utf-8")})


'''


def _stub_expr(tree: dict) -> str:
    inner = ", ".join(f"{key}={_stub_expr(value)}" for key, value in sorted(tree.items()))
    return f"_Stub({inner})"


def write_stubs(root: Path, targets: dict[str, set[str]]) -> set[str]:
    """Create importable stub modules for ``targets`` under ``root``; top-level names."""
    files: dict[Path, dict] = {}
    for module in targets:
        parts = module.split(".")
        for depth in range(1, len(parts)):
            files.setdefault(root.joinpath(*parts[:depth]) / "__init__.py", {})
    for module, attrs in targets.items():
        parts = module.split(".")
        package = root.joinpath(*parts) / "__init__.py"
        path = package if package in files else root.joinpath(*parts[:-1]) / f"{parts[-1]}.py"
        tree = files.setdefault(path, {})
        for attr in attrs:
            node = tree
            for part in attr.split("."):
                node = node.setdefault(part, {})
    for path, tree in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"{name} = {_stub_expr(sub)}\n" for name, sub in sorted(tree.items()))
        path.write_text(_STUB_PRELUDE + body, encoding="utf-8")
    return {module.split(".")[0] for module in targets}


_IMPORT_PRELUDE = textwrap.dedent(
    """\
    import json
    import sys

    stubs = set(sys.argv[1].split(","))
    allowed = set(sys.argv[2].split(","))
    data = json.loads(sys.argv[3])
    before = set(sys.modules)
    import generated_dispatcher as routes
    after = set(sys.modules)
    foreign = sorted(
        name
        for name in after - before
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in stubs | allowed
        and name != "generated_dispatcher"
    )
    assert not foreign, foreign
    assert callable(routes.application)
    """
)


def import_with_stubs(
    code: str, directory: Path, drive: str, data: Any, allowed: tuple[str, ...] = ()
) -> Any:
    """Import ``code`` under ``python -W error`` in a clean child, with a
    stub module for every target it loads (``write_stubs``) and nothing else
    of ours on its path; then run ``drive``, Python that uses ``routes``
    (the module) and ``data`` (``data`` through JSON) and prints its result
    as JSON, which is returned. The import may bring in only the standard
    library, the stubs and the top-level packages ``allowed``; the child
    must write nothing to stderr (no warning, no exception)."""
    stubs = write_stubs(directory, loaded_targets(code))
    clash = sorted(stubs & set(sys.stdlib_module_names))
    assert not clash, f"a target module shadows the standard library: {clash}"
    (directory / "generated_dispatcher.py").write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", _IMPORT_PRELUDE + textwrap.dedent(drive)]
        + [",".join(sorted(stubs)) or "-", ",".join(allowed) or "-", json.dumps(data)],
        cwd=directory,
        env=clean_env(PYTHONPATH=str(directory)),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


#: Requests (host, PATH_INFO) that reach the routes of every golden case,
#: and some hosts that get 400.
GOLDEN_REQUESTS = [
    ("localhost", "/"),
    ("example.com", "/"),
    ("example.com", "/api/v2/x"),
    ("www.example.com:8080", "/docs"),
    ("a.example.com", "/orgs/o/repos/r"),
    ("a.b.example.com", "/u/bob"),
    ("api.example.com:8080", "/"),
    ("xn--bcher-kva.example", "/"),
    ("x.people.example.com", "/page"),
    ("old.example.com", "/blog/2024/post"),
    ("example.org", "/args/v"),
    ("example.org", "/a/b/c"),
    ("example.org", "/braces/x"),
    ("example.org", "/caf\u00c3\u00a9"),
    ("[::1]", "/static/assets/app.css"),
    ("example.com", "/legacy/x"),
    ("example.com", "/admin"),
    ("example.com", "/ws"),
    ("example.com", "/ws/rooms/r1"),
    ("example.com", "/ws/old/r1"),
    ("example.com", "/ws/closed"),
    ("www.example.com", "/reports/2024"),
    ("t.example.com", "/ws"),
    ("t.example.com", "/x"),
    ("bad host", "/"),
    ("a..b", "/"),
]
