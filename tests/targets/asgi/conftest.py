"""Shared helpers for the ASGI target's tests: build a module with
``--target asgi``, drive it in process with ASGI messages, record what the
applications saw, and run real servers on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ...conftest import ROOT, load_module
from ...helpers import compile_asgi

#: Keys a recording app copies from the scope it is given.
RECORDED = ("root_path", "path", "raw_path", "path_params", "dispatchc.route", "state")
MISSING = object()


def build_asgi(text: str) -> types.ModuleType:
    return load_module(compile_asgi(text))


def as_path_info(text: str) -> str:
    """Decoded path text as PATH_INFO holds it: its UTF-8 bytes as latin-1."""
    return text.encode("utf-8").decode("latin-1")


# -- the ASGI side of a request ----------------------------------------------


@dataclass
class Response:
    status: int | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def location(self) -> str | None:
        value = self.headers.get(b"location")
        return None if value is None else value.decode("latin-1")


def scope_for(
    path: str = "/",
    host: str | bytes | None = "example.com",
    *,
    kind: str = "http",
    root_path: str | None = None,
    method: str = "GET",
    query: bytes = b"",
    scheme: str | None = None,
    server: Any = ("127.0.0.1", 8000),
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A scope as a server builds it (``host`` None: no host header)."""
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query,
        "headers": list(headers or []),
        "client": ("127.0.0.1", 50000),
    }
    if kind == "http":
        scope["method"] = method
    if scheme is not None:
        scope["scheme"] = scheme
    if root_path is not None:
        scope["root_path"] = root_path
    if server is not None:
        scope["server"] = server
    if host is not None:
        value = host.encode("latin-1") if isinstance(host, str) else host
        scope["headers"].insert(0, (b"host", value))
    scope.update(extra)
    return scope


async def call_async(app: Any, scope: dict[str, Any], body: bytes = b"") -> Response:
    response = Response()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if scope["type"] == "websocket":
            if not sent:
                sent = True
                return {"type": "websocket.connect"}
            await asyncio.sleep(3600)
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        response.messages.append(message)
        kind = message["type"]
        if kind.endswith("response.start"):
            response.status = message["status"]
            response.headers = {bytes(k): bytes(v) for k, v in message.get("headers", [])}
        elif kind.endswith("response.body"):
            response.body += message.get("body", b"")

    await app(scope, receive, send)
    return response


def call(app: Any, scope: dict[str, Any], body: bytes = b"") -> Response:
    return asyncio.run(call_async(app, scope, body))


# -- recording targets ------------------------------------------------------------


@dataclass
class Seen:
    """What the recording applications and factories of one module saw."""

    apps: list[dict[str, Any]] = field(default_factory=list)
    factories: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)


class EchoApp:
    """An ASGI app that records the scope keys dispatch sets and answers
    with its label (accepting a websocket and sending its label)."""

    def __init__(self, label: str, seen: Seen):
        self.label = label
        self.seen = seen

    async def __call__(self, scope, receive, send):
        record = {"label": self.label, "type": scope["type"]}
        for key in RECORDED:
            value = scope.get(key, MISSING)
            if value is not MISSING:
                record[key] = value
        self.seen.apps.append(record)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": self.label})
            await send({"type": "websocket.close", "code": 1000})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-app", self.label.encode())],
            }
        )
        await send({"type": "http.response.body", "body": self.label.encode("utf-8")})


def echo_wsgi(label: str, seen: Seen):
    """A WSGI app that records the environ keys dispatch sets."""

    def app(environ, start_response):
        record = {"label": label, "thread": threading.current_thread()}
        for key in ("SCRIPT_NAME", "PATH_INFO", "wsgiorg.routing_args", "dispatchc.route"):
            if key in environ:
                record[key] = environ[key]
        seen.apps.append(record)
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", label)])
        return [label.encode("utf-8")]

    return app


_modules = iter(range(10**9))


@contextlib.contextmanager
def target_module(**attrs: Any) -> Iterator[str]:
    """A module of the given attributes in ``sys.modules``; its name."""
    name = f"_dc_asgi_targets_{next(_modules)}"
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    sys.modules[name] = module
    try:
        yield name
    finally:
        del sys.modules[name]


# -- real servers -------------------------------------------------------------------

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait(proc: subprocess.Popen, port: int, log: Path) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"no server on {port} after {START_TIMEOUT}s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM (a graceful shutdown, lifespan included), then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def serve(
    server: str, module: str, cwd: Path, tmp_path: Path, root_path: str | None = None
) -> Iterator[Server]:
    """Run uvicorn or hypercorn on ``module:application`` from ``cwd`` on a
    free 127.0.0.1 port; always stop it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(ROOT)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for attempt in range(3):  # the free port may be taken before the server binds it
        port = free_port()
        if server == "uvicorn":
            argv = ["-m", "uvicorn", f"{module}:application", "--host", "127.0.0.1"]
            argv += ["--port", str(port), "--lifespan", "on", "--log-level", "info"]
            if root_path is not None:
                argv += ["--root-path", root_path]
        else:
            argv = ["-m", "hypercorn", f"{module}:application", "--bind", f"127.0.0.1:{port}"]
            if root_path is not None:
                argv += ["--root-path", root_path]
        log = tmp_path / f"{server}-{port}-{attempt}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, *argv], cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            if _wait(proc, port, log):
                yield Server(proc, port, log)
                return
        finally:
            stop(proc)
        if "address already in use" not in log.read_text(errors="replace").lower():
            raise RuntimeError(f"{server} exited with {proc.returncode}:\n{log.read_text()}")
    raise RuntimeError(f"{server} found no free port")


@pytest.fixture
def seen() -> Seen:
    return Seen()
