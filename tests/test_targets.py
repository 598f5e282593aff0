"""SPEC §1 targets: ``status``, ``redirect`` and the ``cache``/``lazy`` options."""

from __future__ import annotations

import http

import pytest
from werkzeug.test import Client

from dispatchc.compiler import analyse
from dispatchc.ir import target_text

from .helpers import Label, build_app, build_module, compile_text, environ
from .helpers import call as call_app


def build(targets, text):
    """``T:`` names ``targets`` (None: the text names no target module)."""
    if targets is None:
        return build_module(text).application
    return build_app(targets, text)


def call(app, path="/", host="example.com", method="GET", query="", **extra):
    """Returns the status line, the headers and the body."""
    response = call_app(
        app, environ(host, path, REQUEST_METHOD=method, QUERY_STRING=query, **extra)
    )
    return response.status_line, response.headers, response.body


def assert_clean_headers(headers):
    for name, value in headers:
        assert isinstance(value, str)
        assert all(0x20 <= ord(c) < 0x7F for c in value), (name, value)
        value.encode("latin-1")


def errors(text):
    result = analyse("t.disp", text.encode("utf-8"))
    return [(d.code, d.span.line, d.span.column, d.message) for d in result.diagnostics]


# -- status ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 201, 400, 403, 404, 410, 418, 429, 451, 500, 503])
def test_status_response(code):
    app = build(None, f"/ -> status {code}")
    text = f"{code} {http.HTTPStatus(code).phrase}"
    status, headers, body = call(app)
    assert status == text
    assert body == (text + "\n").encode("ascii")
    h = dict(headers)
    assert h["Content-Type"].split(";")[0] == "text/plain"
    assert h["Content-Length"] == str(len(body))
    assert_clean_headers(headers)


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body(code):
    app = build(None, f"/ -> status {code}")
    status, headers, body = call(app)
    assert status == f"{code} {http.HTTPStatus(code).phrase}"
    assert body == b""
    assert dict(headers).get("Content-Length", "0") == "0"


def test_status_unknown_code_still_a_valid_status_line():
    app = build(None, "/ -> status 599")
    status, headers, body = call(app)
    assert status.startswith("599 ") and len(status) > 4
    assert body == (status + "\n").encode("ascii")


@pytest.mark.parametrize("code", [200, 404, 204])
def test_status_head_has_no_body(code):
    app = build(None, f"/ -> status {code}")
    get_status, get_headers, _ = call(app)
    status, headers, body = call(app, method="HEAD")
    assert status == get_status
    assert headers == get_headers
    assert body == b""


def test_status_through_werkzeug():
    app = build(None, "/gone -> status 410\n/ -> status 404")
    response = Client(app).get("/gone/x")
    assert response.status == "410 Gone"
    assert response.get_data() == b"410 Gone\n"
    assert response.mimetype == "text/plain"
    assert Client(app).head("/gone").get_data() == b""


def test_status_bounds():
    assert errors("/ -> status 200\n/a -> status 599") == []
    assert errors("/ -> status 199")[0][:3] == ("E305", 1, 13)
    assert errors("/ -> status 600")[0][:3] == ("E305", 1, 13)
    assert errors("/ -> status 99")[0][:3] == ("E305", 1, 13)


# -- redirect ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_codes(code):
    app = build(None, f'/old -> redirect {code} "https://new.example/"')
    status, headers, body = call(app, "/old")
    assert status == f"{code} {http.HTTPStatus(code).phrase}"
    assert dict(headers)["Location"] == "https://new.example/"
    assert_clean_headers(headers)
    _, _, head_body = call(app, "/old", method="HEAD")
    assert head_body == b""


@pytest.mark.parametrize("code", [300, 304, 305, 306, 200, 404, 309])
def test_bad_redirect_code(code):
    diags = errors(f'/ -> redirect {code} "/x"')
    assert diags == [("E306", 1, 15, f"redirect code {code} is not one of 301, 302, 303, 307, 308")]


def location(app, path="/", query="", host="example.com", **extra):
    status, headers, _ = call(app, path, host=host, query=query, **extra)
    assert_clean_headers(headers)
    return dict(headers)["Location"]


def test_redirect_with_captures():
    app = build(
        None,
        """
        host {sub}.example.com {
            /users/{name} -> redirect 301 "https://{sub}.example.net/u/{name}/profile"
        }
        """,
    )
    assert (
        location(app, "/users/bob", host="Acme.example.com")
        == "https://acme.example.net/u/bob/profile"
    )
    assert (
        location(app, "/users/bob/x/y", host="a.example.com")
        == "https://a.example.net/u/bob/profile"
    )


def test_redirect_path_is_the_rest_after_the_prefix():
    app = build(
        None,
        """
        /old -> redirect 301 "https://new.example{path}"
        /docs/{v} -> redirect 302 "/documentation/{v}{path}"
        / -> redirect 308 "https://www.example.com{path}"
        """,
    )
    assert location(app, "/old") == "https://new.example"
    assert location(app, "/old/") == "https://new.example/"
    assert location(app, "/old/a/b") == "https://new.example/a/b"
    assert location(app, "/docs/v1/intro") == "/documentation/v1/intro"
    assert location(app, "/docs/v1") == "/documentation/v1"
    assert location(app, "/") == "https://www.example.com/"
    assert location(app, "") == "https://www.example.com"
    assert location(app, "/x/y") == "https://www.example.com/x/y"
    # SCRIPT_NAME is not part of {path}
    assert location(app, "/old/a", SCRIPT_NAME="/mnt") == "https://new.example/a"


def test_redirect_path_means_the_rest_even_with_a_capture_named_path():
    app = build(None, '/{path} -> redirect 301 "/moved{path}"')
    assert location(app, "/foo/bar") == "/moved/bar"
    assert location(app, "/foo") == "/moved"


def test_redirect_literal_braces():
    app = build(None, '/ -> redirect 302 "/a{{b}}/{{path}}/{{{{x}}}}"')
    assert location(app, "/z") == "/a{b}/{path}/{{x}}"


@pytest.mark.parametrize(
    ("url", "query", "expected"),
    [
        ("/new", "", "/new"),
        ("/new", "a=1", "/new?a=1"),
        ("/new", "a=1&b=2", "/new?a=1&b=2"),
        ("/new?x=1", "a=1", "/new?x=1&a=1"),
        ("/new?x=1", "", "/new?x=1"),
        ("/new?", "a=1", "/new?&a=1"),
        ("/new{path}", "a=1", "/new/p?a=1"),
        ("/new{path}?x=y", "a=1", "/new/p?x=y&a=1"),
        ("/new", "q=a%20b", "/new?q=a%20b"),
        # the query goes before a fragment, never inside it
        ("/new{path}#top", "a=1", "/new/p?a=1#top"),
        ("/new?x=1#top", "a=1", "/new?x=1&a=1#top"),
        ("/new#top", "", "/new#top"),
    ],
)
def test_redirect_query_string(url, query, expected):
    app = build(None, f'/r -> redirect 302 "{url}"')
    assert location(app, "/r/p", query=query) == expected


@pytest.mark.parametrize(
    ("segment", "encoded"),
    [
        ("a b", "a%20b"),
        ("a?b", "a%3Fb"),
        ("a%b", "a%25b"),
        ("100%25", "100%2525"),
        ("a#b", "a%23b"),
        ("a&b=c", "a%26b%3Dc"),
        ("a\r\nSet-Cookie: x=1", "a%0D%0ASet-Cookie:%20x%3D1"),
        ("a\x00b", "a%00b"),
        ("a\x7fb", "a%7Fb"),
        ("caf\xc3\xa9", "caf%C3%A9"),  # latin-1 PATH_INFO of UTF-8 bytes
        ("\xe9", "%E9"),
        ('a"<>b', "a%22%3C%3Eb"),
        ("a~b-c_d.e", "a~b-c_d.e"),
    ],
    ids=repr,
)
def test_redirect_capture_is_percent_encoded(segment, encoded):
    app = build(None, '/u/{name} -> redirect 301 "https://x.example/users/{name}"')
    assert location(app, "/u/" + segment) == "https://x.example/users/" + encoded


@pytest.mark.parametrize(
    ("rest", "encoded"),
    [
        ("/a b/c", "/a%20b/c"),
        ("/a?b", "/a%3Fb"),
        ("/a%2Fb", "/a%252Fb"),
        ("/x\r\nLocation: evil", "/x%0D%0ALocation:%20evil"),
        ("/caf\xc3\xa9/", "/caf%C3%A9/"),
        ("//evil.example", "//evil.example"),
    ],
    ids=repr,
)
def test_redirect_path_is_percent_encoded(rest, encoded):
    app = build(None, '/old -> redirect 301 "https://new.example{path}"')
    assert location(app, "/old" + rest) == "https://new.example" + encoded


@pytest.mark.parametrize(
    "query", ["a=1\r\nX-Evil: 1", "a=\x00", "a=\x7f", "a b", "a=\xe9"], ids=repr
)
def test_redirect_query_never_gives_control_characters(query):
    app = build(None, '/ -> redirect 302 "/new"')
    loc = location(app, "/", query=query)
    assert loc.startswith("/new?a")


def test_redirect_non_ascii_url_text_is_utf8_percent_encoded():
    app = build(None, '/ -> redirect 301 "/café/ü"')
    assert location(app, "/") == "/caf%C3%A9/%C3%BC"


def test_redirect_body_and_head():
    app = build(None, '/ -> redirect 303 "/there"')
    status, headers, body = call(app)
    assert status == "303 See Other"
    h = dict(headers)
    assert h["Content-Length"] == str(len(body))
    _, head_headers, head_body = call(app, method="HEAD")
    assert head_body == b""
    assert dict(head_headers)["Location"] == "/there"


def test_redirect_through_werkzeug():
    app = build(
        None,
        'host {sub}.example.com { /u/{n} -> redirect 307 "https://{sub}.example.org/{n}{path}" }',
    )
    response = Client(app).get("/u/a%20b/c%3Fd?x=1", headers={"Host": "t.example.com"})
    assert response.status_code == 307
    assert response.headers["Location"] == "https://t.example.org/a%20b/c%3Fd?x=1"


@pytest.mark.parametrize(
    ("url", "message", "col"),
    [
        ('"/{nope}"', "'nope' is not a capture of this route", 21),
        ('"/{{nope}}/{nope}"', "'nope' is not a capture of this route", 30),
        ('"/x y"', "character ' ' is not allowed in a redirect URL", 22),
        ('"/{"', "unclosed '{' in redirect URL", 21),
        ('"/}"', "single '}' in redirect URL", 21),
        ('"/{1x}"', "'{1x}' is not a capture name", 21),
    ],
)
def test_bad_redirect_url(url, message, col):
    diags = errors(f"/ -> redirect 301 {url}")
    assert len(diags) == 1
    code, line, column, msg = diags[0]
    assert (line, column, msg) == (1, col, message)
    assert code in ("E303", "E307")


# -- options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "col"),
    [
        ("/ -> T:app cache 3", 12),
        ("/ -> status 404 cache 3", 17),
        ('/ -> redirect 301 "/x" cache 3', 24),
    ],
)
def test_cache_on_non_factory_is_e308(text, col):
    assert errors(text) == [("E308", 1, col, "'cache' applies only to a factory target")]


def test_cache_on_use_of_non_factory_is_e308():
    assert errors("use a = T:app cache 3\n/ -> a") == [
        ("E308", 1, 15, "'cache' applies only to a factory target")
    ]
    assert errors("use a = T:app\n/ -> a cache 3") == [
        ("E308", 2, 8, "'cache' applies only to a factory target")
    ]


@pytest.mark.parametrize(
    ("text", "col"),
    [
        ("/ -> status 404 lazy", 17),
        ('/ -> redirect 301 "/x" lazy', 24),
    ],
)
def test_lazy_on_status_or_redirect_is_e308(text, col):
    assert errors(text) == [("E308", 1, col, "'lazy' applies only to an application or a factory")]


def test_lazy_on_use_of_status_is_e308():
    assert errors("use gone = status 410\n/ -> gone lazy") == [
        ("E308", 2, 11, "'lazy' applies only to an application or a factory")
    ]


def test_options_on_apps_and_factories_are_fine():
    assert errors("/ -> T:app lazy\n/a -> T:f() cache 0 lazy\n/b -> T:f() lazy cache 7") == []


def test_cache_sizes(targets):
    app = build(
        targets,
        """
        use mk = T:make(x) cache 1
        /one/{x}     -> mk
        /none/{x}    -> mk cache 0
        /three/{x}   -> mk cache 3
        /default/{x} -> T:make(x)
        """,
    )

    def calls_for(prefix, keys):
        targets.calls.clear()
        for key in keys:
            assert call(app, f"/{prefix}/{key}")[2] == repr((key,)).encode()
        return len(targets.calls)

    assert calls_for("one", "aba") == 3  # the use's cache 1: b evicts a
    assert calls_for("none", "aa") == 2  # route's cache 0 overrides the use's cache 1
    assert calls_for("three", "abcab") == 3  # route's cache 3 overrides the use's cache 1
    assert calls_for("three", "dabc") == 4  # oldest created dropped first: a, b, c gone in turn
    assert calls_for("default", "abcabc") == 3


def test_each_route_has_its_own_cache(targets):
    app = build(targets, "/a/{x} -> T:make(x) cache 1\n/b/{x} -> T:make(x) cache 1")
    call(app, "/a/k")
    call(app, "/b/k")
    call(app, "/a/k")
    call(app, "/b/k")
    assert targets.calls == [("k",), ("k",)]


def test_lazy_defers_the_import(targets):
    # Not lazy: a missing attribute fails when the module is imported.
    with pytest.raises(AttributeError):
        build(targets, "/ -> T:late")
    # Lazy on the route: imported on the first request that needs it.
    app = build(targets, "/ -> T:late lazy\n/x -> status 204")
    assert call(app, "/x")[0].startswith("204")
    targets.late = Label("late")
    assert call(app, "/")[2] == b"late"


def test_route_lazy_overrides_use(targets):
    app = build(targets, "use f = T:late_factory()\n/ -> f lazy")
    targets.late_factory = lambda: Label("lf")
    assert call(app, "/")[2] == b"lf"


def test_use_lazy_and_cache_are_kept_when_the_route_adds_an_option(targets):
    # the use says lazy and cache 0; the route only adds cache 5: still lazy
    app = build(targets, "use f = T:late_factory(x) lazy cache 0\n/{x} -> f cache 5")
    calls = []

    def late_factory(x):
        calls.append(x)
        return Label(x)

    targets.late_factory = late_factory
    call(app, "/a")
    call(app, "/a")
    assert calls == ["a"]  # cache 5 (from the route), not cache 0


def test_lazy_missing_module_fails_at_first_request():
    app = build(None, "/ -> _dc_no_such_module_for_tests:app lazy\n/ok -> status 200")
    assert call(app, "/ok")[0] == "200 OK"
    with pytest.raises(ImportError):
        call(app, "/")
    with pytest.raises(ImportError):
        build(None, "/ -> _dc_no_such_module_for_tests:app")


# -- the canonical text of a target (what show, explain and lint print) -----------


@pytest.mark.parametrize(
    ("written", "kind", "imports", "text"),
    [
        ("pkg.mod:app", "app", True, "pkg.mod:app"),
        ("pkg.mod:app   lazy", "app", True, "pkg.mod:app lazy"),
        ("m:make( org ,'x' ,3 )", "factory", True, 'm:make(org, "x", 3)'),
        ('m:make(org, "a\\"b\\\\") cache 16 lazy', "factory", True, None),
        ("m:make() cache 1024", "factory", True, "m:make()"),  # the default is not written
        ("status   410", "status", False, "status 410"),
        ('redirect 301 "https://new.example/{org}/{path}?a=1"', "redirect", False, None),
    ],
)
def test_a_target_is_shown_as_the_language_writes_it(written, kind, imports, text):
    source = f"/{{org}} -> {written}\n".replace("'", '"')
    table = analyse("t.disp", source.encode()).table
    assert table is not None and table.default is not None
    [route] = table.default.routes
    target = route.target
    assert (target.kind, target.imports) == (kind, imports)
    shown = target_text(target)
    assert shown == (text or written)
    # The text reads back as the same target.
    again = analyse("t.disp", f"/{{org}} -> {shown}\n".encode())
    assert again.ok and again.table is not None and again.table.default is not None
    assert again.table.default.routes[0].target == target


# -- the wsgi option: accepted and ignored by the WSGI target ---------------------

_WITH_WSGI = """\
use legacy = legacy_app:application wsgi lazy
host example.com {
    /          -> legacy
    /a         -> legacy_app:application wsgi
    /b/{x}     -> legacy_app:other wsgi
    /t/{team}  -> teams:make_app(team) wsgi cache 8
}
/{p} -> teams:make_app(p) lazy wsgi
"""


def test_wsgi_option_does_not_change_the_wsgi_module():
    without = _WITH_WSGI.replace(" wsgi", "")
    assert without != _WITH_WSGI

    def body(text: str) -> list[str]:
        code = compile_text(text)
        return [line for line in code.splitlines() if not line.startswith("# Source sha256:")]

    assert body(_WITH_WSGI) == body(without)
