"""A live edge for the nginx target's tests: nginx in front of one gunicorn
per upstream (each serving its ``--upstream`` module), and beside them the
reference: gunicorn serving the single-process WSGI module of the whole
file. Both receive the same raw bytes."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dispatchc.cli import main

from .live import Response, free_port, request, running_gunicorn, running_nginx, send

HERE = Path(__file__).resolve().parent
EDGE = HERE / "edge"
UPSTREAMS = ("web", "api", "tenants", "more")


@dataclass
class Edge:
    directory: Path
    edge_port: int
    reference_port: int

    def edge(self, raw: bytes) -> Response:
        return send(self.edge_port, raw)

    def reference(self, raw: bytes) -> Response:
        return send(self.reference_port, raw)

    def both(self, *args, **kwargs) -> tuple[Response, Response]:
        raw = request(*args, **kwargs)
        return self.edge(raw), self.reference(raw)


def seen(response: Response) -> dict:
    """What the echo application saw (tests/targets/nginx/edgeapps.py)."""
    assert response.status == 200, (response.status, response.body[:300])
    return json.loads(response.body)


def build(directory: Path, *argv: str) -> None:
    status = main(["build", *argv])
    assert status == 0, argv


@pytest.fixture(scope="session")
def live_edge(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("edge")
    ports = {name: free_port() for name in ("edge", "reference", *UPSTREAMS)}
    (directory / "routes.disp").write_bytes((EDGE / "routes.disp").read_bytes())
    text = (EDGE / "upstreams.toml").read_text(encoding="utf-8")
    for name, port in ports.items():
        text = text.replace("{" + name + "}", str(port))
    (directory / "upstreams.toml").write_text(text, encoding="utf-8")
    routes, upstreams = str(directory / "routes.disp"), str(directory / "upstreams.toml")
    build(directory, routes)
    build(directory, "--target", "nginx", routes, "--upstreams", upstreams)
    for name in UPSTREAMS:
        build(directory, routes, "--upstreams", upstreams, "--upstream", name)
    with contextlib.ExitStack() as stack:
        stack.enter_context(running_gunicorn(directory, "routes", ports["reference"], path=[HERE]))
        for name in UPSTREAMS:
            stack.enter_context(
                running_gunicorn(directory, f"routes_{name}", ports[name], path=[HERE])
            )
        stack.enter_context(
            running_nginx(directory / "nginx", directory / "routes.nginx.conf", ports["edge"])
        )
        yield Edge(directory, ports["edge"], ports["reference"])
