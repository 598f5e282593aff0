"""The ASGI target under real servers: uvicorn and hypercorn, each started
by the test on a free 127.0.0.1 port (with and without ``--root-path``) and
stopped, asked with httpx and websockets clients.

The two servers disagree on ``--root-path`` (uvicorn puts it in ``path``,
hypercorn does not): the applications must see the same thing under both.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import httpx
import pytest
import websockets

from ...conftest import SAMPLES
from .conftest import compile_asgi, serve

pytestmark = pytest.mark.slow

SERVERS = ("uvicorn", "hypercorn")
TIMEOUT = 10.0


def get(server, path: str, host: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT, follow_redirects=False) as client:
        return client.get(path, headers={"Host": host})


@pytest.mark.parametrize("root_path", [None, "/mnt"])
@pytest.mark.parametrize("name", SERVERS)
def test_the_sample_under_a_real_server(name, root_path, tmp_path):
    prefix = root_path or ""
    with serve(name, "asgi_mix", SAMPLES, tmp_path, root_path=root_path) as server:
        # uvicorn expects the proxy to have removed the prefix, hypercorn
        # expects it to be there: ask each the way its users' proxies do.
        sent = "" if name == "uvicorn" else prefix
        cases = [
            ("example.com", "/", 200, f"frontend: index (SCRIPT_NAME={prefix!r})"),
            ("example.com", "/about", 200, "frontend: page about"),
            ("www.example.com", "/api/", 200, f"api: index (root_path='{prefix}/api'); api "),
            ("example.com", "/api/users/ann", 200, "api: user ann"),
            (
                "alice.example.com",
                "/",
                200,
                "alice: Alice's shop (path_params={'tenant': 'alice'})",
            ),
            ("nobody.example.com", "/", 404, "404 Not Found"),
            ("example.com", "/v0/x", 410, "410 Gone"),
            ("other.test", "/", 404, "404 Not Found"),
            ("bad_host!", "/", 400, "400 Bad Request"),
        ]
        for host, path, status, text in cases:
            response = get(server, sent + path, host)
            assert (response.status_code, response.text[: len(text)]) == (status, text), (
                host,
                path,
                server.output(),
            )
        response = get(server, sent + "/v1/users/x?q=1", "example.com")
        assert response.status_code == 308
        assert response.headers["location"] == "/api/users/x?q=1"


async def websocket_exchange(server, path: str, host: str) -> str:
    uri = f"ws://{host}{path}"
    async with websockets.connect(
        uri, host="127.0.0.1", port=server.port, open_timeout=TIMEOUT
    ) as ws:
        await ws.send("hello")
        return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def websocket_denial(server, path: str, host: str) -> int:
    uri = f"ws://{host}{path}"
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        async with websockets.connect(
            uri, host="127.0.0.1", port=server.port, open_timeout=TIMEOUT
        ):
            pass  # pragma: no cover
    return info.value.response.status_code


@pytest.mark.parametrize("name", SERVERS)
def test_websockets_are_routed_and_denied(name, tmp_path):
    with serve(name, "asgi_mix", SAMPLES, tmp_path) as server:
        assert asyncio.run(websocket_exchange(server, "/live/echo", "example.com")) == "echo: hello"
        # dispatchc's own answers are denials with their status (both
        # servers offer the websocket.http.response extension).
        assert asyncio.run(websocket_denial(server, "/v0", "example.com")) == 410
        assert asyncio.run(websocket_denial(server, "/", "other.test")) == 404
        assert asyncio.run(websocket_denial(server, "/", "nobody.example.com")) == 404


LIFESPAN_APPS = """
import os

LOG = os.environ["LIFESPAN_LOG"]


def note(text):
    with open(LOG, "a") as log:
        log.write(text + "\\n")


class App:
    def __init__(self, name, fail=False):
        self.name, self.fail = name, fail

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            if self.fail:
                note(f"{self.name} startup failed")
                await send({"type": "lifespan.startup.failed", "message": "no database"})
                return
            scope["state"]["mine"] = self.name
            note(f"{self.name} started")
            await send({"type": "lifespan.startup.complete"})
            await receive()
            note(f"{self.name} stopped")
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = f"{self.name} state={sorted(scope['state'].items())}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def plain(scope, receive, send):
    assert scope["type"] == "http"  # no lifespan support
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"plain"})


one, two, broken = App("one"), App("two"), App("broken", fail=True)
"""


def lifespan_project(tmp_path: Path, routes: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "lifespan_apps.py").write_text(textwrap.dedent(LIFESPAN_APPS), encoding="utf-8")
    (project / "routes.py").write_text(compile_asgi(routes), encoding="utf-8")
    return project


@pytest.mark.parametrize("name", SERVERS)
def test_lifespan_through_a_real_start_and_stop(name, tmp_path, monkeypatch):
    log = tmp_path / "lifespan.log"
    monkeypatch.setenv("LIFESPAN_LOG", str(log))
    routes = "/one -> lifespan_apps:one\n/two -> lifespan_apps:two\n/ -> lifespan_apps:plain\n"
    project = lifespan_project(tmp_path, routes)
    with serve(name, "routes", project, tmp_path) as server:
        assert sorted(log.read_text().split("\n")[:2]) == ["one started", "two started"]
        assert get(server, "/one", "x").text == "one state=[('mine', 'one')]"
        assert get(server, "/two/x", "x").text == "two state=[('mine', 'two')]"
        assert get(server, "/", "x").text == "plain"  # left out of the lifespan, still served
    lines = log.read_text().split("\n")
    assert sorted(lines[2:4]) == ["one stopped", "two stopped"]


@pytest.mark.parametrize("name", SERVERS)
def test_a_failed_startup_stops_the_server_and_names_the_app(name, tmp_path, monkeypatch):
    log = tmp_path / "lifespan.log"
    monkeypatch.setenv("LIFESPAN_LOG", str(log))
    project = lifespan_project(tmp_path, "/one -> lifespan_apps:one\n/b -> lifespan_apps:broken\n")
    starting = serve(name, "routes", project, tmp_path)
    with pytest.raises(RuntimeError, match=r"exited") as info, starting:
        pass  # pragma: no cover - the server must not start
    assert "lifespan_apps:broken: no database" in str(info.value)
    lines = log.read_text().splitlines()
    # The app that had started is stopped before the server gives up.
    assert sorted(lines) == ["broken startup failed", "one started", "one stopped"]
    assert lines.index("one started") < lines.index("one stopped")
