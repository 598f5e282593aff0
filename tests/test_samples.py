"""The shipped sample: its committed output is current and it routes right."""

from __future__ import annotations

import importlib

import pytest
from werkzeug.test import Client

from dispatchc.compiler import compile_source
from dispatchc.targets import recorded_target

from .conftest import SAMPLES

SAMPLE_FILES = sorted(SAMPLES.glob("*.disp"))


@pytest.mark.parametrize("disp", SAMPLE_FILES, ids=lambda p: p.name)
def test_committed_output_is_current(disp):
    out = disp.with_suffix(".py")
    assert out.exists(), f"{out.name} is not committed"
    committed = out.read_bytes()
    # Built for the target its header names (build --check does the same).
    target = recorded_target(committed)
    assert compile_source(disp, disp.read_bytes(), out, target) == committed.decode("utf-8")


@pytest.mark.parametrize(
    ("host", "path", "status", "body"),
    [
        ("example.com", "/", 200, "frontend: index (SCRIPT_NAME='')"),
        ("www.example.com", "/about", 200, "frontend: page about"),
        (
            "example.com",
            "/backend/users",
            200,
            "backend: users (SCRIPT_NAME='/backend', PATH_INFO='/users')",
        ),
        ("example.com", "/backend/", 200, "backend: index, users at /backend/users"),
        (
            "alice.example.com",
            "/x",
            200,
            "alice: hello Alice Liddell (SCRIPT_NAME='', PATH_INFO='/x')",
        ),
        ("nobody.example.com", "/", 404, "404 Not Found"),
        (
            "users.example.org",
            "/bob/x",
            200,
            "bob: hello Bob Dobbs (SCRIPT_NAME='/bob', PATH_INFO='/x')",
        ),
        ("users.example.org", "/nobody/x", 200, "default: no such user; try one of alice, bob"),
        ("evilexample.com", "/", 404, "404 Not Found"),
        ("unknown.test", "/backend", 404, "404 Not Found"),
        ("bad host", "/", 400, "400 Bad Request"),
    ],
)
def test_sample_routes(samples_on_path, host, path, status, body):
    module = importlib.import_module("flask_dispatching")
    response = Client(module.application).get(path, headers={"Host": host})
    assert response.status_code == status
    assert response.get_data(as_text=True).strip() == body


def test_mount_root_redirects_below_the_mount(samples_on_path):
    # PATH_INFO is "" for /backend, so Flask redirects to the mount's "/",
    # with SCRIPT_NAME in the URL, exactly as under DispatcherMiddleware.
    module = importlib.import_module("flask_dispatching")
    response = Client(module.application).get("/backend", headers={"Host": "example.com"})
    assert response.status_code == 308
    assert response.headers["Location"] in ("http://example.com/backend/", "/backend/")
