"""SPEC §9 "wsgi targets": WSGI applications and factories marked ``wsgi``
run through a2wsgi, one thread pool for all of them, with the environ the
WSGI target would give; a2wsgi is imported only when something is marked."""

from __future__ import annotations

import ast
import sys

import pytest
from a2wsgi import WSGIMiddleware

from .conftest import EchoApp, Seen, build_asgi, call, compile_asgi, echo_wsgi, scope_for
from .conftest import target_module as module_of

ROUTES = """\
use legacy = {m}:legacy wsgi
host example.com {{
    /              -> {m}:modern
    /legacy        -> legacy
    /caf\u00e9/{{item}}  -> legacy
    /teams/{{team}}  -> {m}:make_team(team) wsgi
}}
host {{tenant}}.example.com {{
    /admin -> legacy
}}
"""


@pytest.fixture(scope="module")
def mixed():
    seen = Seen()
    made = []

    def make_team(team):
        made.append(team)
        return echo_wsgi(f"team-{team}", seen)

    attrs = {
        "legacy": echo_wsgi("legacy", seen),
        "modern": EchoApp("modern", seen),
        "make_team": make_team,
    }
    with module_of(**attrs) as m:
        module = build_asgi(ROUTES.format(m=m))
        yield module, seen, made


def request(mixed, *args, **kwargs):
    module, seen, _ = mixed
    seen.apps.clear()
    response = call(module.application, scope_for(*args, **kwargs))
    return response, (seen.apps[-1] if seen.apps else None)


@pytest.mark.parametrize(
    ("path", "root_path", "script_name", "path_info"),
    [
        ("/legacy/users", None, "/legacy", "/users"),
        ("/legacy", None, "/legacy", ""),
        ("/mnt/legacy/x", "/mnt", "/mnt/legacy", "/x"),
        ("/legacy/x", "/mnt", "/mnt/legacy", "/x"),  # a non-conforming scope
        ("/mnt/legacy//x", "/mnt/", "/mnt/legacy", "//x"),
    ],
)
def test_a_wsgi_app_gets_script_name_and_path_info(mixed, path, root_path, script_name, path_info):
    response, seen = request(mixed, path, root_path=root_path)
    assert (response.status, response.body) == (200, b"legacy")
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == (script_name, path_info)
    assert seen["dispatchc.route"] == "example.com /legacy"
    assert "wsgiorg.routing_args" not in seen


def test_a_wsgi_app_gets_routing_args_and_pep3333_text(mixed):
    _, seen = request(mixed, "/café/crème/x")
    latin1 = "café".encode().decode("latin-1")
    assert seen["SCRIPT_NAME"] == f"/{latin1}/{'crème'.encode().decode('latin-1')}"
    assert seen["PATH_INFO"] == "/x"
    assert seen["wsgiorg.routing_args"] == ((), {"item": "crème".encode().decode("latin-1")})
    assert seen["dispatchc.route"] == "example.com /café/{item}"
    _, seen = request(mixed, "/admin/x", "acme.example.com")
    assert seen["wsgiorg.routing_args"] == ((), {"tenant": "acme"})


def test_os_environ_script_name_does_not_override_the_split(mixed, monkeypatch):
    monkeypatch.setenv("SCRIPT_NAME", "/from-os-environ")
    _, seen = request(mixed, "/legacy/x")
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/legacy", "/x")


def test_a_wsgi_factory_makes_wsgi_apps_once_per_key(mixed):
    _, _, made = mixed
    made.clear()
    for team in ("red", "blue", "red"):
        response, seen = request(mixed, f"/teams/{team}/board")
        assert response.body == f"team-{team}".encode()
        assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == (f"/teams/{team}", "/board")
        assert seen["wsgiorg.routing_args"] == ((), {"team": team})
    assert made == ["red", "blue"]


def test_every_wsgi_app_runs_in_one_shared_thread_pool(mixed):
    module, seen, _ = mixed
    bridges = [v for v in vars(module).values() if isinstance(v, WSGIMiddleware)]
    assert len(bridges) == 1
    threads = set()
    for path in ["/legacy"] + [f"/teams/t{i}" for i in range(30)]:
        _, record = request(mixed, path)
        threads.add(record["thread"])
    assert all(thread.name.startswith("WSGI") for thread in threads)
    assert len(threads) <= bridges[0].executor._max_workers


def test_asgi_apps_beside_them_are_called_directly(mixed):
    response, seen = request(mixed, "/x")
    assert (response.body, seen["label"]) == (b"modern", "modern")


def _imports(code: str) -> set[str]:
    tree = ast.parse(code)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(str(node.module).split(".")[0])
    return names


def test_a2wsgi_is_imported_only_when_something_is_marked_wsgi():
    plain = compile_asgi("/ -> api:app\n/{t} -> teams:make(t) lazy\n")
    assert all(name in sys.stdlib_module_names for name in _imports(plain))
    for marked in ("/ -> legacy:app wsgi\n", "/{t} -> teams:make(t) wsgi\n"):
        names = _imports(compile_asgi(marked))
        assert {n for n in names if n not in sys.stdlib_module_names} == {"a2wsgi"}


def test_one_object_marked_in_one_route_only_is_wrapped_there_only():
    seen = Seen()
    with module_of(app=EchoApp("asgi", seen)) as m:
        module = build_asgi(f"/plain -> {m}:app\n/marked -> {m}:app wsgi\n")
        assert call(module.application, scope_for("/plain")).body == b"asgi"
        wrapped = [k for k in vars(module) if k.startswith("_dc_wsgi_app_")]
        assert len(wrapped) == 1
