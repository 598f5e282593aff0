"""``dispatchc explain`` (SPEC §6): URL -> environ -> reference matcher -> trace.

- On the samples, URLs that hit every kind of host and route (exact, captured
  and wildcard hosts, default, literal mounts, captured segments, built-in
  responses, the fallback after a factory returns None via ``--none``, 400
  and 404), checked on the ``Explanation`` and on the printed text.
- A Hypothesis property: on random tables and requests (tests/strategies.py)
  explain's handling route, SCRIPT_NAME, PATH_INFO, 400/404, redirect
  Location and routing args equal what the generated module does, with the
  factories that return None named by ``--none``.
- The environ is built from a URL the way a server would (checked against
  werkzeug's ``EnvironBuilder``), explain imports no target module, and the
  command's exit codes and messages.
- The examples in docs/explain-and-show.md are what the command prints.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
import shlex
import subprocess
import sys
import textwrap
from typing import Any
from urllib.parse import quote

import pytest
from gunicorn.util import unquote_to_wsgi_str
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from dispatchc.cli import main
from dispatchc.compiler import load
from dispatchc.errors import UsageError
from dispatchc.plan import Plan
from dispatchc.tools.explain import (
    FALLBACK,
    HANDLES,
    RETURNS_NONE,
    UNREACHED,
    Explanation,
    build_environ,
    explain_environ,
    explain_url,
    render,
)

from .conftest import ROOT, SAMPLES, compile_text, load_module
from .strategies import fake_targets, make_decide, requests, tables

DOC = ROOT / "docs" / "explain-and-show.md"


def plan_of(name: str, raw: bytes) -> Plan:
    plan = load(name, raw).plan
    assert plan is not None
    return plan


@functools.cache
def sample(name: str) -> Plan:
    path = SAMPLES / f"{name}.disp"
    return plan_of(str(path), path.read_bytes())


def plan_text(text: str) -> Plan:
    return plan_of("routes.disp", textwrap.dedent(text).encode("utf-8"))


def lines_of(text: str) -> dict[str, str]:
    """The rendered text by label (continuation lines joined with newlines)."""
    out: dict[str, str] = {}
    label = ""
    for line in text.splitlines():
        head, body = line[:10].strip(), line[10:]
        if head:
            label = head
            out[label] = body
        else:
            out[label] += "\n" + body
    return out


# -- the samples: every kind of host and route ---------------------------------

# (sample, url, headers, --none, route, SCRIPT_NAME, PATH_INFO, text that must be printed)
HANDLED = {
    "exact host, literal mount": (
        "flask_dispatching",
        "http://example.com/backend/x?a=1",
        [],
        [],
        "example.com /backend",
        "/backend",
        "/x",
        [
            "Block     host example.com, www.example.com  (exact match: example.com), line 8",
            "Calls     backend_app.application(environ, start_response)",
            "1. /backend -> backend_app:application  (use backend)    handles it",
            "2. /        -> frontend_app:application  (use frontend)  not reached: "
            "/backend always answers first",
        ],
    ),
    "exact host, normalised": (
        "flask_dispatching",
        "http://WWW.Example.COM./",
        [],
        [],
        "www.example.com /",
        "",
        "/",
        ["Host      www.example.com, port 80, the http default  (from the URL 'WWW.Example.COM.')"],
    ),
    "captured host": (
        "flask_dispatching",
        "https://Alice.example.com/x/y",
        [],
        [],
        "{subdomain}.example.com /",
        "",
        "/x/y",
        [
            "Host      alice.example.com, port 443, the https default",
            "(pattern; no exact host matches; captures subdomain='alice'), line 14",
            "Captures  subdomain='alice'",
            "Calls     myapplication.make_app('alice'), then the app it returns  "
            "(cached per argument tuple, cache 1024)",
            "   then 404 Not Found if myapplication.make_app('alice') returns None",
        ],
    ),
    "default block": (
        "flask_dispatching",
        "http://evilexample.com/backend",
        [],
        [],
        "default /",
        "",
        "/backend",
        [
            "Block     default  (no host pattern matches), line 26",
            "Responds  404 Not Found  (built-in plain-text response)",
        ],
    ),
    "captured segment": (
        "flask_dispatching",
        "http://users.example.org/bob/x?a=1",
        [],
        [],
        "users.example.org /{prefix}",
        "/bob",
        "/x",
        [
            "Captures  prefix='bob'",
            "1. /{prefix} -> myapplication:make_app(prefix)  handles it",
            "2. /         -> myapplication:default_app       "
            "takes over if myapplication.make_app('bob') returns None",
            "Route     dispatchc.route = 'users.example.org /{prefix}'",
        ],
    ),
    "Host header overrides the URL": (
        "flask_dispatching",
        "http://example.com/bob",
        ["Host: users.example.org:8080"],
        [],
        "users.example.org /{prefix}",
        "/bob",
        "",
        ["Host      users.example.org, port 8080  (from the Host header)"],
    ),
    "fallback after None, path spec": (
        "flask_dispatching",
        "http://users.example.org/bob/x",
        [],
        ["/{prefix}"],
        "users.example.org /",
        "",
        "/bob/x",
        [
            "1. /{prefix} -> myapplication:make_app(prefix)  "
            "myapplication.make_app('bob') returns None (--none): falls through",
            "2. /         -> myapplication:default_app       handles it",
            "Calls     myapplication.default_app(environ, start_response)",
            "Captures  none",
        ],
    ),
    "fallback after None, route name": (
        "flask_dispatching",
        "http://users.example.org/bob/x",
        [],
        ["users.example.org /{prefix}"],
        "users.example.org /",
        "",
        "/bob/x",
        [],
    ),
    "wildcard host, redirect": (
        "tenants",
        "http://a.b.c.saas.example/p?q=1",
        [],
        [],
        "*.saas.example /",
        "",
        "/p",
        [
            "(wildcard: one or more labels before saas.example; no exact host or capture matches)",
            "Responds  302 Found  Location: https://www.saas.example/p?q=1",
        ],
    ),
    "two captured labels, factory with cache": (
        "tenants",
        "http://acme.eu.saas.example/dash",
        [],
        [],
        "{tenant}.{region}.saas.example /",
        "",
        "/dash",
        [
            "Captures  tenant='acme'  region='eu'",
            "Calls     tenants_app.make_app('acme', 'eu'), then the app it returns  "
            "(cached per argument tuple, cache 256)",
        ],
    ),
    "literal route with a status": (
        "tenants",
        "http://acme.eu.saas.example/healthz/deep",
        [],
        [],
        "{tenant}.{region}.saas.example /healthz",
        "/healthz",
        "/deep",
        ["Responds  204 No Content  (built-in plain-text response)"],
    ),
    "no host block: path only": (
        "mounts",
        "http://anything:8080/backend/a%2Fb",
        [],
        [],
        "default /backend",
        "/backend",
        "/a/b",
        [
            "Host      not looked at (the file has no host block)",
            "Block     default  (the only block: the file has no host block)",
        ],
    ),
    "redirect with the rest of the path": (
        "mounts",
        "http://x/old/caf%C3%A9?q=1",
        [],
        [],
        "default /old",
        "/old",
        "/cafÃ©",
        [
            "Request   PATH_INFO='/old/cafÃ©' (UTF-8 bytes as latin-1: '/old/café')  "
            "QUERY_STRING='q=1'",
            "Responds  308 Permanent Redirect  Location: /backend/caf%C3%A9?q=1",
        ],
    ),
}


def explain_sample(name, url, headers=(), none=()) -> tuple[Explanation, str]:
    exp = explain_url(sample(name), url, headers, none)
    return exp, render(exp)


@pytest.mark.parametrize(
    ("name", "url", "headers", "none", "route", "script", "path", "printed"),
    list(HANDLED.values()),
    ids=list(HANDLED),
)
def test_explain_handled(name, url, headers, none, route, script, path, printed):
    exp, text = explain_sample(name, url, headers, none)
    assert exp.status is None
    assert exp.route_name == route
    assert (exp.script_name, exp.path_info) == (script, path)
    shown = lines_of(text)
    assert shown["URL"] == url
    assert shown["Route"] == f"dispatchc.route = {route!r}"
    assert shown["Result"] == f"SCRIPT_NAME={script!r}  PATH_INFO={path!r}"
    for fragment in printed:
        assert fragment in text, text


def test_explain_suggested_layout():
    # The layout of the issue: one labelled line per fact, routes aligned.
    _, text = explain_sample("flask_dispatching", "http://users.example.org/bob/x?a=1")
    assert text == (
        "URL       http://users.example.org/bob/x?a=1\n"
        "Request   PATH_INFO='/bob/x'  QUERY_STRING='a=1'\n"
        "Host      users.example.org, port 80, the http default  (from the URL)\n"
        "Block     host users.example.org  (exact match), line 20\n"
        "Routes    1. /{prefix} -> myapplication:make_app(prefix)  handles it\n"
        "          2. /         -> myapplication:default_app       "
        "takes over if myapplication.make_app('bob') returns None\n"
        "Captures  prefix='bob'\n"
        "Calls     myapplication.make_app('bob'), then the app it returns  "
        "(cached per argument tuple, cache 1024)\n"
        "Result    SCRIPT_NAME='/bob'  PATH_INFO='/x'\n"
        "Route     dispatchc.route = 'users.example.org /{prefix}'\n"
    )


def test_explain_steps_and_roles():
    exp, _ = explain_sample(
        "flask_dispatching", "http://users.example.org/bob/x", none=["/{prefix}"]
    )
    assert [(s.rank, s.route.path.text, s.role) for s in exp.steps] == [
        (1, "/{prefix}", RETURNS_NONE),
        (2, "/", HANDLES),
    ]
    assert exp.steps[0].args == ("bob",) and exp.steps[0].captures == {"prefix": "bob"}
    assert exp.steps[0].script_name == "/bob" and exp.steps[0].path_info == "/x"
    assert exp.calls == [("make_app", ("bob",))]
    assert exp.assumed_none == ("users.example.org /{prefix}",)
    assert exp.choice is not None and exp.choice.why == "exact"
    # Captures of a route that fell through do not leak (SPEC §3).
    assert exp.handler is not None and exp.handler.captures == {}
    assert exp.routing_args is None


FALLBACKS = """
    host {h}.example.com {
        /a/{p}/b -> m:f0(h, p)
        /a/{p}   -> m:f1(p) cache 0
        /a       -> m:app lazy
        /        -> m:f2()
    }
"""


def test_fallback_chain_roles_and_text():
    plan = plan_text(FALLBACKS)
    exp = explain_url(plan, "http://t.example.com/a/z/b/rest")
    assert [s.role for s in exp.steps] == [HANDLES, FALLBACK, FALLBACK, UNREACHED]
    text = render(exp)
    assert "takes over if m.f0('t', 'z') returns None" in text
    assert "takes over if m.f1('z') returns None" in text
    assert "not reached: /a always answers first" in text
    assert "(called on every request: cache 0)" not in text  # f0 handles it
    exp = explain_url(plan, "http://t.example.com/a/z/b/rest", none=["/a/{p}/b", "/a/{p}"])
    assert [s.role for s in exp.steps] == [RETURNS_NONE, RETURNS_NONE, HANDLES, UNREACHED]
    assert exp.route_name == "{h}.example.com /a"
    assert (exp.script_name, exp.path_info) == ("/a", "/z/b/rest")
    assert exp.calls == [("f0", ("t", "z")), ("f1", ("z",))]
    assert "(module imported on first use: lazy)" in render(exp)
    exp = explain_url(plan, "http://t.example.com/a/z", none=["{h}.example.com /a/{p}"])
    assert "Calls     m.app(environ, start_response)" in render(exp)
    exp = explain_url(plan, "http://t.example.com/a/z/x")
    assert "(called on every request: cache 0)" in render(exp)


# -- 400 and 404 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "headers", "why"),
    [
        ("http://a..example.com/", [], "it has an empty label"),
        ("http://example.com:0/", [], "the port 0 is not 1-65535"),
        ("http://example.com:99999/", [], "the port 99999 is not 1-65535"),
        ("http://example.com:x/", [], "the port 'x' is not a number of at most 5 digits"),
        ("http://x/", ["Host: bücher.example"], "it holds a non-ASCII character"),
        ("http://x/", ["Host: a b.example.com"], "it holds ' ' (allowed: a-z 0-9 - _ .)"),
        ("http://x/", ["Host: [::1"], "'[' is not closed"),
        ("http://x/", ["Host: [::g]"], "[::g] is not an IPv6 address"),
        ("http://x/", ["Host: " + "a." * 130 + "com"], "it is 263 characters long (at most 253)"),
    ],
)
def test_explain_400(url, headers, why):
    exp, text = explain_sample("flask_dispatching", url, headers)
    assert exp.status == 400 and exp.handler is None and exp.steps == ()
    assert exp.host_error == why
    shown = lines_of(text)
    assert shown["Result"].startswith("400 Bad Request: the host ")
    assert shown["Result"].endswith(f"is invalid: {why}")
    assert shown["Route"] == "dispatchc.route is not set"
    assert "Routes" not in shown


def test_explain_400_suggests_idna():
    _, text = explain_sample("flask_dispatching", "http://x/", ["Host: bücher.example"])
    assert "(clients send the IDNA form 'xn--bcher-kva.example')" in text
    # In the URL itself a Unicode host is sent in its IDNA form, as browsers do.
    exp, _ = explain_sample("flask_dispatching", "http://bücher.example/")
    assert exp.environ["HTTP_HOST"] == "xn--bcher-kva.example"
    assert exp.route_name == "default /"


def test_explain_404_every_factory_returned_none():
    exp, text = explain_sample("flask_dispatching", "http://alice.example.com/x", none=["/"])
    assert exp.status == 404 and exp.route_name is None
    assert [s.role for s in exp.steps] == [RETURNS_NONE]
    assert (
        lines_of(text)["Result"]
        == "404 Not Found: every matching route is a factory that returns None (--none)"
    )
    exp, _ = explain_sample("tenants", "http://acme.xx.saas.example/p", none=["/"])
    assert exp.status == 404 and exp.calls == [("make_app", ("acme", "xx"))]


NO_ROOT = """
    host api.example.com:8080 {
        /v1 -> m:api
    }
    host *.example.com {
        /x -> m:x
    }
"""


def test_explain_404_no_route_and_no_block():
    plan = plan_text(NO_ROOT)
    exp = explain_url(plan, "http://api.example.com:8080/v2/x")
    assert exp.status == 404 and exp.steps == ()
    text = render(exp)
    assert "Block     host api.example.com:8080  (exact match on port 8080), line 2" in text
    assert "Routes    none match PATH_INFO '/v2/x' (the block has: /v1)" in text
    assert (
        "Result    404 Not Found: no route of host api.example.com:8080 matches "
        "PATH_INFO '/v2/x' (no other block is consulted)"
    ) in text
    # Port 80: the exact pattern on 8080 does not match; *.example.com does, and
    # once chosen no other block is consulted.
    exp = explain_url(plan, "http://api.example.com/v1")
    assert exp.status == 404 and exp.choice is not None and exp.choice.prefix == "*.example.com"
    exp = explain_url(plan, "http://example.com/v1")
    assert exp.status == 404 and exp.choice is not None and exp.choice.block is None
    assert "Block     none  (no host pattern matches, and there is no default block)" in render(exp)


def test_explain_empty_file():
    exp = explain_url(plan_text(""), "http://example.com/")
    assert exp.status == 404 and "the file has no routes" in render(exp)


# -- --none specs -------------------------------------------------------------------


def test_none_spec_errors_list_the_candidates():
    plan = sample("flask_dispatching")
    with pytest.raises(UsageError, match=r"no such route; factory routes: '/\{prefix\}'$"):
        explain_url(plan, "http://users.example.org/x", none=["/nope"])
    with pytest.raises(
        UsageError,
        match=r"no such route; factory routes: 'users.example.org /\{prefix\}', "
        r"'\{subdomain\}.example.com /'$",
    ):
        explain_url(plan, "http://users.example.org/x", none=["users.example.org /nope"])
    with pytest.raises(UsageError, match=r"no such route; factory routes: \(none\)$"):
        explain_url(plan, "http://www.example.com/x", none=["/backend/x"])
    with pytest.raises(UsageError, match="is an application, not a factory"):
        explain_url(plan, "http://users.example.org/x", none=["/"])
    with pytest.raises(UsageError, match="is a built-in response, not a factory"):
        explain_url(plan, "http://evil.example.net/x", none=["default /"])
    with pytest.raises(UsageError, match="no host block is chosen for this request"):
        explain_url(plan, "http://a..b/x", none=["/{prefix}"])


def test_none_spec_host_forms():
    plan = sample("flask_dispatching")
    # The host part is normalised like a pattern; another block's route plays no part.
    exp = explain_url(plan, "http://users.example.org/x", none=["USERS.example.org. /{prefix}"])
    assert exp.route_name == "users.example.org /"
    exp = explain_url(plan, "http://users.example.org/x", none=["{subdomain}.example.com /"])
    assert exp.route_name == "users.example.org /{prefix}"
    assert exp.assumed_none == ("{subdomain}.example.com /",)
    assert "names a route of another block: it plays no part" in render(exp)
    exp = explain_url(plan, "http://users.example.org/", none=["/{prefix}"])
    assert "does not match this path: it plays no part" in render(exp)


# -- the environ a server builds ------------------------------------------------------


def test_build_environ():
    env = build_environ(
        "HTTPS://user:pw@[::1]:8443/caf%C3%A9/a%2Fb/é x?q=é&r=1#frag",
        ["X-Forwarded-For: 1.2.3.4", "Content-Type: text/plain", "X-A: 1", "x-a: 2"],
    )
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "[::1]:8443"
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("::1", "8443")
    assert env["PATH_INFO"] == "/cafÃ©/a/b/Ã© x"
    assert env["QUERY_STRING"] == "q=%C3%A9&r=1"
    assert env["SCRIPT_NAME"] == ""
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["HTTP_X_A"] == "1,2"
    assert build_environ("http://a.com")["PATH_INFO"] == "/"
    assert build_environ("http://a.com/a/../b")["PATH_INFO"] == "/a/../b"  # as sent
    env = build_environ("http://a.com/", ["Host: b.com:81", "host: c.com"])
    assert env["HTTP_HOST"] == "c.com"  # the last Host header wins


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "is not http://HOST/PATH or https://HOST/PATH"),
        ("example.com/x", "is not http://HOST/PATH or https://HOST/PATH"),
        ("http:/example.com/x", "is not http://HOST/PATH or https://HOST/PATH"),
        ("http:///x", "has no host"),
        ("http://[::1/x", "cannot parse URL"),
        ("http://a.com/\nx", "contains a control character"),
    ],
)
def test_build_environ_rejects_urls(url, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        build_environ(url)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Host", "is not 'Name: value'"),
        ("Ho st: x", "has an invalid name"),
        (": x", "has an invalid name"),
        ("Host : x", "has an invalid name"),
    ],
)
def test_build_environ_rejects_headers(header, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        build_environ("http://a.com/", [header])


PATH_PIECES = ("a", "é", "%", "%2F", "%2f", "%C3%A9", "%E9", "/", "..", " ", "~", "+", ";", "%zz")


@settings(max_examples=80, deadline=None)
@given(pieces=st.lists(st.sampled_from(PATH_PIECES), max_size=6))
def test_path_info_is_what_werkzeug_builds(pieces):
    path = "/" + "".join(pieces)
    if path.startswith("//"):
        path = "/x" + path  # werkzeug reads "//a" as a network location
    if path.endswith(" "):
        path += "x"  # a URL's trailing spaces are stripped (as the WHATWG URL parser does)
    ours = build_environ("http://example.com" + path)["PATH_INFO"]
    # gunicorn: the request target's bytes (UTF-8), percent-decoded, as latin-1 (PEP 3333).
    assert ours == unquote_to_wsgi_str(path.replace(" ", "%20"))
    # werkzeug decodes escapes as UTF-8 (U+FFFD for invalid bytes), else agrees.
    theirs = EnvironBuilder(path=path, base_url="http://example.com").get_environ()
    if "\ufffd" not in theirs["PATH_INFO"].encode("latin-1").decode("utf-8", "replace"):
        assert ours == theirs["PATH_INFO"]


@pytest.mark.parametrize(
    "base", ["http://example.com:8080", "https://Example.com", "http://a.b", "https://a.b:443"]
)
def test_host_and_port_are_what_werkzeug_builds(base):
    ours = build_environ(base + "/x")
    theirs = EnvironBuilder(path="/x", base_url=base).get_environ()
    for key in ("SERVER_PORT", "wsgi.url_scheme"):
        assert ours[key] == theirs[key], key
    assert ours["HTTP_HOST"].lower() == theirs["HTTP_HOST"].lower()


# -- explain agrees with the generated module -------------------------------------------

_ABSENT = object()


def call(app, environ: dict[str, Any]) -> tuple[int, dict[str, str]]:
    seen: dict[str, Any] = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    b"".join(app(environ, start_response))
    return int(seen["status"][:3]), dict(seen["headers"])


@functools.lru_cache(maxsize=256)
def compiled(text: str) -> tuple[Plan, str]:
    return plan_of("routes.disp", text.encode("utf-8")), compile_text(text)


def url_form(environ: dict[str, Any]) -> tuple[str, list[str]] | None:
    """A URL and headers that a server turns into this environ, if there are."""
    host = environ.get("HTTP_HOST")
    path = environ.get("PATH_INFO", "")
    if (
        not host
        or not path.startswith("/")
        or environ.get("SCRIPT_NAME")
        or "wsgiorg.routing_args" in environ
        or not host.isascii()
        or host != host.strip()
    ):
        return None
    raw = quote(path.encode("latin-1"), safe="/")
    query = environ.get("QUERY_STRING", "")
    url = f"{environ['wsgi.url_scheme']}://placeholder.invalid{raw}" + (
        f"?{query}" if query else ""
    )
    return url, [f"Host: {host}"]


def check_against_module(module, plan, environ, decide, calls, spec_form: bool) -> None:
    # First without --none: which routes match, and with what arguments.
    first = explain_environ(plan, copy.deepcopy(environ))
    none = [
        (s.route.path.text if spec_form else s.name)
        for s in first.steps
        if s.args is not None and not decide(s.route.target.attr, s.args)
    ]
    exp = explain_environ(plan, copy.deepcopy(environ), none)
    env = copy.deepcopy(environ)
    calls.clear()
    status, headers = call(module.application, env)
    assert set(calls.factories) <= set(exp.calls)
    if exp.status is not None:
        assert status == exp.status
        assert "dispatchc.route" not in env and calls.apps == []
        if exp.status == 400:  # check_host names the reason request_host rejects
            assert exp.host_error and exp.host_error != "it is not a valid host"
        return
    seen = calls.apps[0] if calls.apps else env
    assert seen.get("dispatchc.route") == exp.route_name
    assert seen.get("SCRIPT_NAME", "") == exp.script_name
    assert seen.get("PATH_INFO", "") == exp.path_info
    routing = seen.get("wsgiorg.routing_args", _ABSENT)
    assert routing == (_ABSENT if exp.routing_args is None else exp.routing_args)
    if exp.location is not None:
        assert headers["Location"] == exp.location
    assert exp.handler is not None
    code = getattr(exp.handler.route.target, "code", 200)
    assert status == code
    form = url_form(environ)
    if form is not None:
        url, url_headers = form
        by_url = explain_url(plan, url, url_headers, none)
        for key in ("PATH_INFO", "QUERY_STRING", "HTTP_HOST", "wsgi.url_scheme"):
            assert by_url.environ.get(key, "") == environ.get(key, ""), key
        assert by_url.route_name == exp.route_name
        assert (by_url.script_name, by_url.path_info) == (exp.script_name, exp.path_info)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    spec=tables(),
    mode=st.sampled_from(("all", "none", "mixed", "mixed")),
    salt=st.integers(0, 3),
    spec_form=st.booleans(),
)
def test_explain_agrees_with_generated_module(data, spec, mode, salt, spec_form):
    plan, code = compiled(spec.source())
    decide = make_decide(mode, salt)
    with fake_targets(decide) as calls:
        module = load_module(code)
        for environ in data.draw(st.lists(requests(spec), min_size=3, max_size=8)):
            check_against_module(module, plan, environ, decide, calls, spec_form)


# -- nothing is imported --------------------------------------------------------------------


def test_explain_imports_no_target_module(tmp_path, capsys, samples_on_path):
    routes = tmp_path / "routes.disp"
    routes.write_text(
        "host {t}.example.com {\n"
        "    /    -> dispatchc_missing_a:make(t)\n"
        "    /x   -> dispatchc_missing_b.sub:app\n"
        "}\n"
        "/ -> dispatchc_missing_c:app lazy\n",
        encoding="utf-8",
    )
    before = set(sys.modules)
    assert main(["explain", str(routes), "http://t.example.com/x/y"]) == 0
    assert main(["explain", str(routes), "http://t.example.com/", "--none", "/"]) == 0
    assert main(["explain", str(routes), "http://other/"]) == 0
    # The samples' targets are importable here (samples_on_path), and still not imported.
    flask_sample = str(SAMPLES / "flask_dispatching.disp")
    assert main(["explain", flask_sample, "http://alice.example.com/"]) == 0
    # Nothing but (lazily loaded) standard library modules, such as a codec.
    new = {m.partition(".")[0] for m in set(sys.modules) - before}
    assert new <= set(sys.stdlib_module_names), new
    assert "Route     dispatchc.route = '{t}.example.com /x'" in capsys.readouterr().out


# -- the command line -------------------------------------------------------------------------


def test_cli_explain_ok(capsys):
    path = str(SAMPLES / "flask_dispatching.disp")
    status = main(["explain", path, "http://example.com/bob", "-H", "Host: users.example.org"])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    assert "Route     dispatchc.route = 'users.example.org /{prefix}'" in out
    assert main(["explain", path, "http://a..example.com/"]) == 0  # a 400 is explained
    assert main(["explain", path, "http://alice.example.com/", "--none", "/"]) == 0  # and a 404
    out = capsys.readouterr().out
    assert "400 Bad Request" in out and "404 Not Found" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ftp://x/"], "dispatchc: error: URL 'ftp://x/' is not http://HOST/PATH or "),
        (["http://x/", "-H", "NoColon"], "dispatchc: error: header 'NoColon' is not 'Name: value'"),
        (
            ["http://x/", "--none", "/zz"],
            "dispatchc: error: --none '/zz': no such route; factory routes: (none)",
        ),
        (
            ["http://x/", "--none", "/"],
            "dispatchc: error: --none '/': the route's target status 404 is a built-in response",
        ),
    ],
)
def test_cli_explain_usage_errors(capsys, argv, message):
    assert main(["explain", str(SAMPLES / "flask_dispatching.disp"), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and err.count("\n") == 1


def test_cli_explain_missing_file(capsys, tmp_path):
    assert main(["explain", str(tmp_path / "nope.disp"), "http://x/"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err
        == f"dispatchc: error: cannot read {tmp_path / 'nope.disp'}: No such file or directory\n"
    )


def test_cli_explain_routing_file_errors(capsys):
    broken = ROOT / "tests" / "broken" / "duplicate_route.disp"
    assert main(["explain", str(broken), "http://example.com/"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{broken}:4:5: error[E103]" in err
    assert "^" in err


def test_cli_explain_bad_argument(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", str(SAMPLES / "mounts.disp")])
    assert exc.value.code == 2


def test_cli_explain_and_show_render_every_error_of_the_file(capsys, tmp_path):
    path = tmp_path / "routes.disp"
    path.write_text("/a -> nope\n/b -> missing\n", encoding="utf-8")
    for argv in (["explain", str(path), "http://x/a"], ["show", str(path)]):
        assert main(argv) == 1
        out, err = capsys.readouterr()
        assert out == ""
        first, second = err.split("\n\n")  # one blank line between two diagnostics
        assert first.startswith(f"{path}:1:7: error[E101]") and "^^^^" in first
        assert second.startswith(f"{path}:2:7: error[E101]: undefined name 'missing'")
        assert second.endswith("  = help: define it with: use NAME = module:attr\n")


def test_cli_explain_bad_url_is_reported_before_the_file_is_read(capsys, tmp_path):
    broken = ROOT / "tests" / "broken" / "duplicate_route.disp"
    for path in (broken, tmp_path / "missing.disp"):
        assert main(["explain", str(path), "ftp://x/"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("dispatchc: error: URL 'ftp://x/' is not http")


def test_responds_with_the_status_line_the_module_sends():
    # A code without a reason phrase is sent as "599 Unknown": explain says so.
    plan, code = compiled("/ -> status 599\n/gone -> status 410\n")
    module = load_module(code)
    sent: list[str] = []
    for url, line in (("http://x/", "599 Unknown"), ("http://x/gone", "410 Gone")):
        shown = lines_of(render(explain_url(plan, url)))
        assert shown["Responds"] == f"{line}  (built-in plain-text response)"
        module.application(build_environ(url), lambda status, headers: sent.append(status))
        assert sent[-1] == line


def test_only_the_command_line_parses_arguments_and_there_is_one_usage_error():
    # explain, show, serve and fmt are called with plain values; every usage
    # error is errors.UsageError, which cli.main turns into exit 2.
    importers, usage_errors = set(), set()
    for path in sorted((ROOT / "dispatchc").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                importers.add(name)
            if isinstance(node, ast.ImportFrom) and node.module == "argparse":
                importers.add(name)
            if isinstance(node, ast.ClassDef) and node.name.endswith(("UsageError", "LoadError")):
                usage_errors.add(f"{name}:{node.name}")
    assert importers == {"dispatchc/cli.py"}
    assert usage_errors == {"dispatchc/errors.py:UsageError"}


# -- the documentation ---------------------------------------------------------------------------

FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def doc_examples() -> list[tuple[list[str], str]]:
    out = []
    for match in FENCE.finditer(DOC.read_text(encoding="utf-8")):
        body = match.group("body")
        if match.group("lang") == "text" and body.startswith("$ dispatchc explain "):
            command, _, printed = body.partition("\n")
            out.append((shlex.split(command)[3:], printed))
    return out


def test_doc_has_explain_examples():
    assert len(doc_examples()) >= 4


@pytest.mark.parametrize(("argv", "printed"), doc_examples())
def test_doc_explain_examples_are_true(argv, printed, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["explain", *argv]) == 0
    assert capsys.readouterr().out == printed


# -- control characters and bytes in the arguments ------------------------------------------------


def test_explain_prints_no_control_character_from_the_file_or_the_url(tmp_path, capsys):
    # SPEC §6: explain escapes control characters as the diagnostics do
    # (U+FFFD); a factory's string argument may hold any of them, and so may
    # the URL argument (an escape sequence, a C1 CSI, a bidi override).
    path = tmp_path / "routes.disp"
    path.write_text('/{p} -> m:f("\x1b[2J\u202e", p)\n', encoding="utf-8")
    assert main(["explain", str(path), "http://a/\x1b[31m?q=\x9b\u202e"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert all(c == "\n" or c.isprintable() for c in out), ascii(out)
    lines = out.splitlines()
    assert lines[0] == "URL       http://a/\ufffd[31m?q=\ufffd\ufffd"
    assert lines[4] == 'Routes    1. /{p} -> m:f("\ufffd[2J\ufffd", p)  handles it'
    # the argument values themselves are shown as Python reprs, escaped
    assert "m.f('\\x1b[2J\\u202e', '\\x1b[31m')" in out


def test_explain_url_that_is_not_utf8_is_a_usage_error(tmp_path):
    # Bytes that are not UTF-8 reach sys.argv as surrogates (PEP 383); they
    # used to end in a UnicodeEncodeError traceback.
    path = tmp_path / "routes.disp"
    path.write_text("/ -> m:app\n", encoding="utf-8")
    for url, byte in [(b"http://a/\xff", "ff"), (b"http://a/x?q=\xc3\xa9\xe9", "e9")]:
        done = subprocess.run(
            [sys.executable, "-m", "dispatchc", "explain", str(path).encode(), url],
            capture_output=True,
            timeout=60,
        )
        assert (done.returncode, done.stdout) == (2, b"")
        shown = repr(url)[1:]
        assert done.stderr.decode("ascii") == (
            f"dispatchc: error: URL {shown} is not valid UTF-8 (byte 0x{byte}); "
            f"write such a byte percent-encoded (%{byte.upper()})\n"
        )
