"""``build --target nginx`` and ``build --upstream NAME`` without servers:
the upstreams file's mistakes and nginx's differences as diagnostics, the
usage rules, and what a backend's module does (SPEC §10)."""

from __future__ import annotations

import ast
import sys
import textwrap
import types

import pytest
from werkzeug.test import Client

from dispatchc.cli import main

from ...conftest import load_module

ROUTES = """\
use web = apps:web

host example.com {
    /              -> web
    /api           -> apps:api
    /t/{name}      -> apps:make(name)
    /t/{name}/deep -> apps:make2(name)
}

default {
    / -> status 404
}
"""

UPSTREAMS = """\
[upstream.web]
servers = ["10.0.0.1:8000"]
apps = ["web", "apps:api"]

[upstream.tenants]
servers = ["10.0.0.2:8000"]
apps = ["apps:make", "apps:make2"]
"""


def run(tmp_path, monkeypatch, capsys, routes, upstreams, *argv):
    (tmp_path / "routes.disp").write_text(textwrap.dedent(routes), encoding="utf-8")
    (tmp_path / "upstreams.toml").write_text(textwrap.dedent(upstreams), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status = main(["build", "routes.disp", "--upstreams", "upstreams.toml", *argv])
    return status, capsys.readouterr().err


def nginx(tmp_path, monkeypatch, capsys, routes=ROUTES, upstreams=UPSTREAMS):
    return run(tmp_path, monkeypatch, capsys, routes, upstreams, "--target", "nginx")


# -- the upstreams file ----------------------------------------------------------------


def test_toml_syntax_error_has_line_column_and_caret(tmp_path, monkeypatch, capsys):
    status, err = nginx(tmp_path, monkeypatch, capsys, upstreams="[upstream.web]\nservers = [\n")
    assert status == 1
    assert err.startswith("upstreams.toml:3:1: error[N001]: the upstreams file is not valid TOML")
    assert not (tmp_path / "routes.nginx.conf").exists()


def test_unknown_app_is_a_warning_with_a_suggestion(tmp_path, monkeypatch, capsys):
    status, err = nginx(
        tmp_path,
        monkeypatch,
        capsys,
        upstreams=UPSTREAMS.replace('"apps:api"]', '"apps:api", "apps:apu"]'),
    )
    assert status == 0
    assert "upstreams.toml:3:28: warning[N004]: 'apps:apu' is not an application" in err
    assert "did you mean 'apps:api'?" in err
    assert (tmp_path / "routes.nginx.conf").is_file()


def test_app_in_two_upstreams(tmp_path, monkeypatch, capsys):
    status, err = nginx(
        tmp_path,
        monkeypatch,
        capsys,
        upstreams=UPSTREAMS.replace('"apps:make2"]', '"apps:make2", "web"]'),
    )
    assert status == 1
    assert "upstreams.toml:7:36: error[N003]: apps:web is served by two upstreams, 'web' and" in err


def test_unmapped_target(tmp_path, monkeypatch, capsys):
    status, err = nginx(
        tmp_path, monkeypatch, capsys, upstreams=UPSTREAMS.replace(', "apps:api"', "")
    )
    assert status == 1
    assert "routes.disp:5:23: error[N101]: apps:api is not served by any upstream" in err


def test_chain_that_comes_back(tmp_path, monkeypatch, capsys):
    """/t/x/deep tries make2 (tenants), make (tenants), web: fine; with make
    on web, the chain make2 (tenants) -> make (web) -> ... is fine too, but
    make2 on web and make on tenants goes web -> tenants -> web."""
    upstreams = UPSTREAMS.replace(
        'apps = ["web", "apps:api"]', 'apps = ["web", "apps:api", "apps:make2"]'
    )
    upstreams = upstreams.replace('apps = ["apps:make", "apps:make2"]', 'apps = ["apps:make"]')
    status, err = nginx(tmp_path, monkeypatch, capsys, upstreams=upstreams)
    assert status == 1
    assert "routes.disp:4:5: error[N102]: a fallback chain comes back to upstream 'web'" in err


def test_unused_upstream_is_a_warning(tmp_path, monkeypatch, capsys):
    extra = UPSTREAMS + '\n[upstream.old]\nservers = ["10.0.0.9:8000"]\napps = ["legacy:app"]\n'
    status, err = nginx(tmp_path, monkeypatch, capsys, upstreams=extra)
    assert status == 0
    assert "upstreams.toml:9:1: warning[N005]: upstream 'old' serves nothing" in err


# -- nginx's differences -------------------------------------------------------------


def test_nginx_status_codes_are_refused(tmp_path, monkeypatch, capsys):
    routes = ROUTES.replace("/ -> status 404", "/ -> status 444\n    /x -> status 499")
    status, err = nginx(tmp_path, monkeypatch, capsys, routes=routes)
    assert status == 1
    assert err.count("error[N105]") == 2


def test_port_patterns(tmp_path, monkeypatch, capsys):
    routes = ROUTES.replace("host example.com {", "host example.com:8443 {")
    status, err = nginx(tmp_path, monkeypatch, capsys, routes=routes)
    assert status == 1 and "error[N103]: nginx does not listen on port 8443" in err
    listen = '[edge]\nlisten = ["80", "8443"]\n\n' + UPSTREAMS
    status, err = nginx(tmp_path, monkeypatch, capsys, routes=routes, upstreams=listen)
    assert status == 0 and "warning[N104]" in err
    conf = (tmp_path / "routes.nginx.conf").read_text()
    assert "proxy_set_header Host $host:$server_port;" in conf


def test_redirect_with_too_many_captures(tmp_path, monkeypatch, capsys):
    url = "/{a}{b}{c}{d}{e}/{a}{b}{c}{d}{e}"
    routes = (
        f'use web = apps:web\n/ -> web\n/{{a}}/{{b}}/{{c}}/{{d}}/{{e}} -> redirect 301 "{url}"\n'
    )
    status, err = nginx(tmp_path, monkeypatch, capsys, routes=routes)
    assert status == 1 and "error[N109]" in err


# -- usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "routes.disp", "--target", "nginx"],
        ["build", "routes.disp", "--upstream", "web"],
        ["build", "routes.disp", "--upstreams", "upstreams.toml"],
        ["build", "routes.disp", "--upstreams", "upstreams.toml", "--upstream", "nope"],
        ["build", "routes.disp", "--upstreams", "upstreams.toml", "--upstream", "web-1"],
        ["build", "routes.disp", "--target", "nginx", "--upstreams", "missing.toml"],
    ],
)
def test_usage_errors(tmp_path, monkeypatch, capsys, argv):
    (tmp_path / "routes.disp").write_text(ROUTES, encoding="utf-8")
    (tmp_path / "upstreams.toml").write_text(UPSTREAMS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert "dispatchc: error:" in capsys.readouterr().err


# -- a backend's module ---------------------------------------------------------------


@pytest.fixture
def apps(monkeypatch):
    module = types.ModuleType("apps")

    def echo(label):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            text = f"{label} {environ['dispatchc.route']} {environ['SCRIPT_NAME']!r}"
            return [text.encode()]

        return app

    module.web, module.api = echo("web"), echo("api")
    module.make = lambda name: None if name.startswith("none") else echo(f"make:{name}")
    module.make2 = lambda name: None if name.startswith("none") else echo(f"make2:{name}")
    monkeypatch.setitem(sys.modules, "apps", module)
    return module


def backend(tmp_path, monkeypatch, capsys, name):
    status, err = run(tmp_path, monkeypatch, capsys, ROUTES, UPSTREAMS, "--upstream", name)
    assert status == 0, err
    return (tmp_path / f"routes_{name}.py").read_text(encoding="utf-8")


def test_backend_imports_only_its_targets(tmp_path, monkeypatch, capsys):
    code = backend(tmp_path, monkeypatch, capsys, "tenants")
    loads = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_dc_load"
    ]
    assert sorted(ast.literal_eval(n.args[1]) for n in loads) == ["make", "make2"]
    assert "# Upstreams: upstreams.toml" in code


def test_backend_answers_421_for_other_upstreams(tmp_path, monkeypatch, capsys, apps):
    client = Client(load_module(backend(tmp_path, monkeypatch, capsys, "tenants")).application)
    response = client.get("/t/alice/deep", headers={"Host": "example.com"})
    assert response.text == "make2:alice example.com /t/{name}/deep '/t/alice/deep'"
    # make2 and make (this upstream's) return None: web is another upstream's.
    assert client.get("/t/none-x/deep", headers={"Host": "example.com"}).status_code == 421
    # make returns None too: the next route (web) is another upstream's.
    assert client.get("/t/none-x", headers={"Host": "example.com"}).status_code == 421
    assert client.get("/api", headers={"Host": "example.com"}).status_code == 421


def test_backend_skips_other_upstreams_before_its_first_route(tmp_path, monkeypatch, capsys, apps):
    """web's backend gets /t/none-x only after tenants' make returned None:
    it skips make and serves web, as the single process would."""
    client = Client(load_module(backend(tmp_path, monkeypatch, capsys, "web")).application)
    response = client.get("/t/none-x", headers={"Host": "example.com"})
    assert response.text == "web example.com / ''"
    assert (
        client.get("/api/x", headers={"Host": "example.com"}).text == "api example.com /api '/api'"
    )
    assert client.get("/", headers={"Host": "other.example"}).status_code == 404


def test_explain_target_nginx(tmp_path, monkeypatch, capsys):
    (tmp_path / "routes.disp").write_text(ROUTES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["explain", "--target", "nginx", "routes.disp", "http://example.com/x/../api"]) == 0
    out = capsys.readouterr().out
    assert "N201 dot-segments: nginx resolves the dot segments and routes '/api'" in out
