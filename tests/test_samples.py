"""The shipped samples: their committed outputs are current and they route
as their comments say."""

from __future__ import annotations

import importlib

import pytest
from werkzeug.test import Client

from dispatchc.compiler import compile_source
from dispatchc.targets import recorded_target

from .helpers import SAMPLES

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


# -- the extra samples do what their comments say ------------------------------------------


def _call(app, host: str, path: str) -> tuple[int, str, dict, str]:
    response = Client(app).get(path, headers={"Host": host})
    return (
        response.status_code,
        response.get_data(as_text=True).strip(),
        dict(response.headers),
        response.request.environ.get("dispatchc.route", ""),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/about",
        "/backend",
        "/backend/",
        "/backend/users",
        "/backendx",
        "/healthzx",
        "/x/backend",
    ],
)
def test_mounts_sample_agrees_with_dispatcher_middleware(samples_on_path, path):
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    mounts = importlib.import_module("mounts")
    backend = importlib.import_module("backend_app").application
    frontend = importlib.import_module("frontend_app").application
    reference = DispatcherMiddleware(frontend, {"/backend": backend})
    for host in ("example.com", "anything.test", "bad host"):  # the host is never looked at
        got = _call(mounts.application, host, path)
        want = _call(reference, host, path)
        assert got[:2] == want[:2], (host, path)


def test_mounts_sample_status_and_redirect(samples_on_path):
    app = importlib.import_module("mounts").application
    status, body, _, _ = _call(app, "example.com", "/healthz")
    assert (status, body) == (204, "")
    status, _, headers, _ = _call(app, "example.com", "/old/users?x=1")
    assert status == 308
    assert headers["Location"].endswith("/backend/users?x=1")


@pytest.mark.parametrize(
    ("host", "path", "status", "body"),
    [
        ("alice.eu.saas.example", "/x", 200, "alice in eu: '' '/x'"),
        ("Bob.US.saas.example.", "/", 200, "bob in us: '' '/'"),
        ("alice.mars.saas.example", "/", 404, "404 Not Found"),
        ("alice.eu.saas.example", "/healthz", 204, ""),
        ("saas.example", "/", 200, "frontend: index (SCRIPT_NAME='')"),
        ("www.saas.example", "/about", 200, "frontend: page about"),
        ("evilsaas.example", "/", 404, "404 Not Found"),
        ("bad host", "/", 400, "400 Bad Request"),
    ],
)
def test_tenants_sample_routes(samples_on_path, host, path, status, body):
    app = importlib.import_module("tenants").application
    got = _call(app, host, path)
    assert got[:2] == (status, body)


def test_tenants_sample_redirects_deep_subdomains(samples_on_path):
    app = importlib.import_module("tenants").application
    status, _, headers, _ = _call(app, "a.b.c.saas.example", "/docs/x")
    assert status == 302
    assert headers["Location"] == "https://www.saas.example/docs/x"
