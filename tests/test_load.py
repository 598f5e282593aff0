"""Real load: gunicorn (gthread, 2 workers x 8 threads) serving a generated module.

``tests/load/routes.disp`` has every kind of route (exact hosts, port
patterns, capture and wildcard hosts, nested mounts, path factories that fall
back, a factory cache small enough to evict under load, status and redirect
routes, a default block). ``tests/load/drive.py`` builds it with
``dispatchc build``, serves it with gunicorn on 127.0.0.1 and drives it with
64 client threads for a bounded time; every answer is checked against the
reference matcher (``dispatchc.plan.matcher``).

The server test runs for ``DISPATCHC_LOAD_SECONDS`` seconds per variant
(default 4). For the long run::

    DISPATCHC_LOAD_SECONDS=30 .venv/bin/python -m pytest tests/test_load.py -s
    .venv/bin/python -m tests.load.drive --seconds 30 --clients 64 [--variant memo|both]

The fast tests below check the driver itself: its expectations against
answers worked out by hand, that its plan reaches every route, and that the
generated module, called in-process, gives every answer of the plan.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.load import drive
from tests.load.drive import Expect, Request

SECONDS = float(os.environ.get("DISPATCHC_LOAD_SECONDS", "4"))
CLIENTS = int(os.environ.get("DISPATCHC_LOAD_CLIENTS", "64"))


@pytest.fixture(scope="module", params=drive.VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def built(variant: str, tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp(f"load-{variant}")
    return workdir, drive.build(workdir, variant)


@pytest.fixture(scope="module")
def plan(built) -> list[Request]:
    return drive.build_plan(built[1])


def _app(app, script_name, path_info, route, captures=None, factory=None, once=False):
    routing_args = [[], captures] if captures else None
    return Expect(200, app, script_name, path_info, route, routing_args, once, None, None, factory)


def _status(code: int, body: bytes, route: str | None = None) -> Expect:
    return Expect(code, route=route, body=body)


def _redirect(code: int, location: str, route: str, method: str = "GET") -> Expect:
    body = b"" if method == "HEAD" else f"Redirecting to {location}\n".encode()
    return Expect(code, route=route, body=body, location=location)


# (method, Host, path, https) -> the answer, worked out by hand from SPEC §2-§3.
# Where the variants differ, the value is {variant: answer}.
HAND_CHECKED: list[tuple[tuple[str, str, str, bool], Expect | dict[str, Expect]]] = [
    (("GET", "example.com", "/", False), _app("site", "", "/", "example.com /")),
    (
        ("GET", "EXAMPLE.com.", "/api/v2/admin/x", False),
        _app("admin", "/api/v2/admin", "/x", "example.com /api/v2/admin"),
    ),
    (
        ("GET", "www.example.com:8080", "/%61pi/v2", False),
        _app("api_v2", "/api/v2", "", "www.example.com /api/v2"),
    ),
    (("GET", "example.com", "/apix", False), _app("site", "", "/apix", "example.com /")),
    (("GET", "example.com", "/api/v3", False), _app("api", "/api", "/v3", "example.com /api")),
    (
        ("GET", "example.com", "/docs/caf%C3%A9", False),
        _app("docs.wsgi_app", "/docs", "/caf\u00c3\u00a9", "example.com /docs"),
    ),
    (
        ("GET", "example.com", "/old/a?q=1&x=y", False),
        _redirect(301, "https://example.com/docs/a?q=1&x=y", "example.com /old"),
    ),
    (
        ("GET", "www.example.com", "/old/caf%C3%A9", False),
        _redirect(301, "https://example.com/docs/caf%C3%A9", "www.example.com /old"),
    ),
    (("HEAD", "example.com", "/gone", False), _status(410, b"", "example.com /gone")),
    (("GET", "example.com", "/gone/x", False), _status(410, b"410 Gone\n", "example.com /gone")),
    (("GET", "example.com", "/healthz", False), _status(204, b"", "example.com /healthz")),
    (
        ("GET", "api.example.com", "/x", True),
        {
            "ports": _app("secure_api", "", "/x", "api.example.com:443 /"),
            "memo": _app("api", "", "/x", "api.example.com /"),
        },
    ),
    (("GET", "api.example.com", "/x", False), _app("api", "", "/x", "api.example.com /")),
    (
        ("GET", "api.example.com:443", "/", False),
        {
            "ports": _app("secure_api", "", "/", "api.example.com:443 /"),
            "memo": _app("api", "", "/", "api.example.com /"),
        },
    ),
    (("GET", "API.example.com:8443", "/", True), _app("api", "", "/", "api.example.com /")),
    (
        ("GET", "t7.example.com:8080", "/x", False),
        {
            "ports": _app(
                "make_tenant_8080(t7)",
                "",
                "/x",
                "{tenant}.example.com:8080 /",
                {"tenant": "t7"},
                "make_tenant_8080",
                once=True,
            ),
            "memo": _app(
                "make_tenant(t7)",
                "",
                "/x",
                "{tenant}.example.com /",
                {"tenant": "t7"},
                "make_tenant",
                once=True,
            ),
        },
    ),
    (
        ("GET", "T7.example.com:443", "/", True),
        _app(
            "make_tenant(t7)",
            "",
            "/",
            "{tenant}.example.com /",
            {"tenant": "t7"},
            "make_tenant",
            once=True,
        ),
    ),
    (
        ("GET", "k3.example.com", "/admin/x", False),
        _app(
            "make_admin(k3,admin)",
            "/admin",
            "/x",
            "{tenant}.example.com /admin",
            {"tenant": "k3"},
            "make_admin",
        ),
    ),
    (
        ("GET", "t3.example.com", "/live", False),
        _app(
            "make_live(t3)",
            "/live",
            "",
            "{tenant}.example.com /live",
            {"tenant": "t3"},
            "make_live",
        ),
    ),
    (("GET", "none-1.example.com", "/", False), _status(404, b"404 Not Found\n")),
    (
        ("GET", "none-1.example.com", "/static/s.css", False),
        _app("static", "/static", "/s.css", "{tenant}.example.com /static", {"tenant": "none-1"}),
    ),
    (
        ("GET", "t1.eu.example.com", "/billing/q", False),
        _app(
            "make_section(eu,billing,2)",
            "/billing",
            "/q",
            "{tenant}.{region}.example.com /{section}",
            {"tenant": "t1", "region": "eu", "section": "billing"},
            "make_section",
            once=True,
        ),
    ),
    (  # make_section returns None: its capture "section" must not leak
        ("GET", "t1.eu.example.com", "/other/y", False),
        _app(
            "make_region(t1,eu)",
            "",
            "/other/y",
            "{tenant}.{region}.example.com /",
            {"tenant": "t1", "region": "eu"},
            "make_region",
            once=True,
        ),
    ),
    (("GET", "t1.xx.example.com", "/other", False), _status(404, b"404 Not Found\n")),
    (
        ("GET", "w5.x.t1.example.com", "/x/y?q=1&x=y", False),
        _redirect(302, "https://www.example.com/x/y?q=1&x=y", "*.example.com /"),
    ),
    (
        ("HEAD", "w5.x.t1.example.com", "/", False),
        _redirect(302, "https://www.example.com/", "*.example.com /", "HEAD"),
    ),
    (
        ("GET", "users.example.org", "/bob/x", False),
        _app(
            "make_user(bob)",
            "/bob",
            "/x",
            "users.example.org /{user}",
            {"user": "bob"},
            "make_user",
            once=True,
        ),
    ),
    (
        ("GET", "users.example.org", "/dave", False),
        _app("users_home", "", "/dave", "users.example.org /"),
    ),
    (
        ("GET", "users.example.org", "/dave/settings/x", False),
        _status(403, b"403 Forbidden\n", "users.example.org /{user}/settings"),
    ),
    (
        ("GET", "mounts.example.org", "/a/b/d", False),
        _app(
            "make_axd(b)",
            "/a/b/d",
            "",
            "mounts.example.org /a/{x}/d",
            {"x": "b"},
            "make_axd",
            once=True,
        ),
    ),
    (  # make_axd returns None: /a/b does not match, so /a takes over
        ("GET", "mounts.example.org", "/a/none/d", False),
        _app("a", "/a", "/none/d", "mounts.example.org /a"),
    ),
    (
        ("GET", "mounts.example.org", "/a//d", False),
        _app("a", "/a", "//d", "mounts.example.org /a"),
    ),
    (
        ("GET", "MOUNTS.example.org:8000", "/a/%62/c/", False),
        _app("abc", "/a/b/c", "/", "mounts.example.org /a/b/c"),
    ),
    (("GET", "mounts.example.org", "/ab", False), _app("root", "", "/ab", "mounts.example.org /")),
    (
        ("GET", "XN--BCHER-KVA.example.:8000", "/", False),
        _app("books", "", "/", "xn--bcher-kva.example /"),
    ),
    (("GET", "[::1]:8080", "/x", False), _app("books", "", "/x", "[::1] /")),
    (("GET", "[0:0::1]", "/", False), _status(404, b"404 Not Found\n", "default /")),
    (("GET", "evilexample.com", "/ping", False), _app("ping", "/ping", "", "default /ping")),
    (("GET", "u1.test", "/moved/a/b", False), _redirect(308, "/new/a/b", "default /moved")),
    (
        ("GET", "localhost", "/teapot", False),
        _status(418, b"418 I'm a Teapot\n", "default /teapot"),
    ),
    (("GET", "bad host", "/ping", False), _status(400, b"400 Bad Request\n")),
    (("GET", "t1.example.com:8080:80", "/", False), _status(400, b"400 Bad Request\n")),
    (("GET", "b\u00fccher.example", "/", False), _status(400, b"400 Bad Request\n")),
    (("HEAD", "example.com:0", "/", False), _status(400, b"")),
]


@pytest.mark.parametrize(("request_", "answer"), HAND_CHECKED, ids=lambda v: repr(v)[:60])
def test_expectations_agree_with_answers_worked_out_by_hand(built, variant, request_, answer):
    method, host, target, https = request_
    want = answer[variant] if isinstance(answer, dict) else answer
    assert drive.expect(built[1], Request(method, host, target, https)) == want


def test_plan_reaches_every_route(built, plan):
    assert drive.check_plan(built[1], plan) == []
    statuses = {req.expect.status for req in plan}
    assert {200, 204, 301, 302, 308, 400, 403, 404, 410, 418} <= statuses
    # Enough distinct Host headers that the host memo (1,024) is emptied.
    assert len({req.host for req in plan}) > 1100


@pytest.fixture
def routes_module(built, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The generated module, imported in-process from its build directory."""
    workdir, _ = built
    monkeypatch.syspath_prepend(str(workdir))
    before = set(sys.modules)
    try:
        yield importlib.import_module(drive.MODULE)
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]


def test_generated_module_gives_every_answer_of_the_plan(variant, plan, routes_module):
    """The plan, called in-process: any mismatch here is the dispatcher's,
    not the server's, and the cache and memo behaviours are deterministic."""
    stats = drive.ClientStats()
    wrong = []
    for req in plan:
        captured = {}

        def start_response(status, headers, exc_info=None, captured=captured):
            captured["status"], captured["headers"] = status, dict(headers)

        env = {**req.environ(), "wsgi.input": None, "wsgi.errors": sys.stderr}
        body = b"".join(routes_module.application(env, start_response))
        status = int(captured["status"].split()[0])
        problem = drive.verify(req, status, captured["headers"], body, stats)
        if problem:
            wrong.append(f"{req.label()}: {problem}")
    assert not wrong, wrong[:5]
    assert stats.created["make_admin"] > 1  # the cache of 4 evicted and made again
    assert stats.created["make_live"] > 1  # cache 0: made on every request
    if variant == "memo":
        assert stats.memo_resets >= 1  # the host memo was emptied at least once
    else:
        assert stats.memo_max == 0  # a port pattern: no host memo


def test_routing_text_variants():
    ports, memo = drive.routing_text("ports"), drive.routing_text("memo")
    assert ports == drive.ROUTES.read_text(encoding="utf-8")
    assert ":8080" in ports and ":443" in ports
    assert ":8080" not in memo and ":443" not in memo
    assert len(memo.splitlines()) < len(ports.splitlines())


@pytest.mark.slow
def test_gunicorn_under_load(variant, tmp_path):
    """64 clients for DISPATCHC_LOAD_SECONDS: no 5xx, no wrong answer, no
    connection error, no worker lost, the server still serving at the end."""
    report = drive.run(tmp_path, variant, seconds=SECONDS, clients=CLIENTS)
    print()
    print(report.text())
    assert not report.problems, report.text()
    assert report.total.requests >= CLIENTS  # every client got answers, at the least
    assert report.total.statuses[200] and report.total.statuses[400]
