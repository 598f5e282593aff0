"""``dispatchc lint --resolve --target asgi``: an ASGI application told from
a WSGI one (E405), and ASGI applications called with three arguments."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dispatchc.cli import main

APPS = """\
from flask import Flask
from starlette.applications import Starlette

flask_app = Flask(__name__)
starlette_app = Starlette()


async def asgi_function(scope, receive, send):
    pass


def wsgi_function(environ, start_response):
    return []


class WsgiClass:
    def __init__(self, environ, start_response):
        self.environ = environ

    def __iter__(self):
        return iter([])


class AsgiObject:
    async def __call__(self, scope, receive, send):
        pass


asgi_object = AsgiObject()


def either(*args):
    return None


async def two_arguments(scope, receive):
    pass


async def make_app(name):
    return None
"""


def lint(tmp_path: Path, routes: str, *argv: str, capsys) -> tuple[int, list[tuple[str, int, str]]]:
    (tmp_path / "resolve_apps.py").write_text(APPS, encoding="utf-8")
    path = tmp_path / "routes.disp"
    path.write_text(textwrap.dedent(routes), encoding="utf-8")
    status = main(["lint", "--resolve", "--format", "json", *argv, str(path)])
    rows = json.loads(capsys.readouterr().out)
    return status, [(r["code"], r["line"], r["message"]) for r in rows]


ROUTES = """\
/a -> resolve_apps:flask_app
/b -> resolve_apps:starlette_app
/c -> resolve_apps:asgi_function
/d -> resolve_apps:wsgi_function
/e -> resolve_apps:WsgiClass
/f -> resolve_apps:asgi_object
/g -> resolve_apps:either
/{x} -> resolve_apps:make_app(x)
/ -> status 404
"""


def test_asgi_target_reports_unmarked_wsgi_apps(tmp_path, capsys):
    status, rows = lint(tmp_path, ROUTES, "--target", "asgi", capsys=capsys)
    assert status == 1
    wsgi = "is a WSGI application (it takes environ, start_response), but it is not marked wsgi"
    assert rows == [
        ("E405", 1, f"'resolve_apps:flask_app' {wsgi}"),
        ("E405", 4, f"'resolve_apps:wsgi_function' {wsgi}"),
        ("E405", 5, f"'resolve_apps:WsgiClass' {wsgi}"),
    ]


def test_asgi_target_reports_asgi_apps_marked_wsgi(tmp_path, capsys):
    marked = "".join(
        line + (" wsgi" if "->" in line and "status" not in line else "") + "\n"
        for line in ROUTES.splitlines()
    )
    status, rows = lint(tmp_path, marked, "--target", "asgi", capsys=capsys)
    asgi = "is an ASGI application (a coroutine function, or an object whose __call__ is one)"
    assert status == 1
    assert rows == [
        ("E405", 2, f"'resolve_apps:starlette_app' {asgi}, but it is marked wsgi"),
        ("E405", 3, f"'resolve_apps:asgi_function' {asgi}, but it is marked wsgi"),
        ("E405", 6, f"'resolve_apps:asgi_object' {asgi}, but it is marked wsgi"),
    ]


def test_the_wsgi_target_reports_asgi_apps(tmp_path, capsys):
    status, rows = lint(tmp_path, ROUTES, capsys=capsys)
    assert status == 1
    assert [(code, line) for code, line, _ in rows] == [("E405", 2), ("E405", 3), ("E405", 6)]
    assert rows[0][2].endswith("but the WSGI target calls it as WSGI")


def test_a_correctly_marked_file_passes(tmp_path, capsys):
    routes = """\
    use legacy = resolve_apps:flask_app wsgi
    /a -> legacy
    /b -> resolve_apps:starlette_app
    /c -> resolve_apps:WsgiClass wsgi
    /{x} -> resolve_apps:make_app(x) wsgi
    / -> resolve_apps:asgi_object
    """
    assert lint(tmp_path, routes, "--target", "asgi", capsys=capsys) == (0, [])


@pytest.mark.parametrize("option", ["", " wsgi"])
def test_an_asgi_app_is_called_with_scope_receive_send(tmp_path, capsys, option):
    status, rows = lint(
        tmp_path, f"/ -> resolve_apps:two_arguments{option}\n", "--target", "asgi", capsys=capsys
    )
    assert status == 1
    if option:
        assert rows[0][0] == "E405"
    else:
        assert rows == [
            (
                "E404",
                1,
                "resolve_apps:two_arguments takes 2 arguments (scope, receive), but an "
                "application is called with 3 (scope, receive, send); did you mean "
                "resolve_apps:two_arguments(scope, receive)?",
            )
        ]
