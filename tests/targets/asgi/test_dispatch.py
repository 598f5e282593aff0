"""SPEC §9 in process: host, route path and root_path, the copied scope,
captures, dispatchc.route, and dispatchc's own responses on http and
websocket, for a module built with ``--target asgi``."""

from __future__ import annotations

import pytest

from .conftest import EchoApp, Seen, build_asgi, call, scope_for, target_module

ROUTES = """\
host example.com, www.example.com {
    /              -> {m}:root
    /api           -> {m}:api
    /api/v2        -> {m}:v2
    /orgs/{org}    -> {m}:org
    /café          -> {m}:cafe
    /old           -> status 410
    /go/{x}        -> redirect 308 "https://new.example.com/{x}{path}"
    /rel           -> redirect 301 "/{path}"
}
host example.com:8443 { / -> {m}:tls }
host {tenant}.example.com { / -> {m}:tenant }
host [::1] { / -> {m}:ipv6 }
"""


@pytest.fixture(scope="module")
def app_and_seen():
    seen = Seen()
    labels = ("root", "api", "v2", "org", "cafe", "tls", "tenant", "ipv6")
    with target_module(**{label: EchoApp(label, seen) for label in labels}) as name:
        module = build_asgi(ROUTES.replace("{m}", name))
        yield module.application, seen


@pytest.fixture
def run(app_and_seen):
    app, seen = app_and_seen

    def run(*args, **kwargs):
        seen.apps.clear()
        response = call(app, scope_for(*args, **kwargs))
        return response, (seen.apps[-1] if seen.apps else None)

    return run


# -- host (SPEC §9 "Host") --------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "label"),
    [
        ("example.com", "root"),
        ("WWW.Example.COM.", "root"),
        ("example.com:8443", "tls"),
        ("acme.example.com", "tenant"),
        ("[::1]:9000", "ipv6"),
    ],
)
def test_host_header_picks_the_block(run, host, label):
    response, seen = run("/x", host)
    assert response.status == 200
    assert seen["label"] == label


@pytest.mark.parametrize("host", ["bad host", "a..example.com", "example.com:0", "é.example.com"])
def test_invalid_host_gets_400_and_reaches_no_app(run, host):
    response, seen = run("/", host.encode("utf-8"))
    assert (response.status, response.text, seen) == (400, "400 Bad Request\n", None)


def test_two_host_headers_get_400(run):
    headers = [(b"host", b"example.com"), (b"accept", b"*/*"), (b"host", b"example.com")]
    response, seen = run("/", None, headers=headers)
    assert (response.status, seen) == (400, None)


@pytest.mark.parametrize(
    ("server", "scheme", "label"),
    [
        (("example.com", 80), None, "root"),
        (("example.com", 8443), "https", "tls"),
        (("::1", 80), "http", "ipv6"),
        (("acme.example.com", 80), "ws", "tenant"),
    ],
)
def test_without_a_host_header_the_server_address_is_the_host(run, server, scheme, label):
    for host in (None, b""):
        response, seen = run("/", host, server=server, scheme=scheme)
        assert (response.status, seen["label"]) == (200, label)


@pytest.mark.parametrize("server", [None, ("/run/app.sock", None)])
def test_without_a_host_header_or_server_address_the_host_is_empty(run, server):
    response, seen = run("/", None, server=server)
    assert (response.status, seen) == (400, None)


def test_default_port_comes_from_the_scheme():
    seen = Seen()
    with target_module(plain=EchoApp("plain", seen), tls=EchoApp("tls", seen)) as m:
        app = build_asgi(
            f"host example.com {{ / -> {m}:plain }}\nhost example.com:443 {{ / -> {m}:tls }}"
        ).application
        for scheme, label in [(None, "plain"), ("http", "plain"), ("ws", "plain")] + [
            ("https", "tls"),
            ("wss", "tls"),
        ]:
            seen.apps.clear()
            call(app, scope_for("/", scheme=scheme, kind="http"))
            assert seen.apps[-1]["label"] == label, scheme


# -- route path and root_path (SPEC §9 "Path") ------------------------------------


@pytest.mark.parametrize(
    ("root_path", "path", "label", "child_root", "child_path"),
    [
        # No root_path.
        (None, "/api/users", "api", "/api", "/api/users"),
        ("", "/api", "api", "/api", "/api"),
        ("", "/apix", "root", "", "/apix"),
        ("", "/", "root", "", "/"),
        ("", "", "root", "", ""),
        # A conforming scope: path holds root_path.
        ("/mnt", "/mnt/api/users", "api", "/mnt/api", "/mnt/api/users"),
        ("/mnt", "/mnt", "root", "/mnt", "/mnt"),
        ("/mnt", "/mnt/api/v2/x", "v2", "/mnt/api/v2", "/mnt/api/v2/x"),
        # One trailing "/" of root_path is ignored.
        ("/mnt/", "/mnt/api", "api", "/mnt/api", "/mnt/api"),
        ("/mnt/", "/mnt/x", "root", "/mnt", "/mnt/x"),
        # A non-conforming scope (the server left root_path out of path):
        # the route path is path, and the app gets path = root_path + path.
        ("/mnt", "/api/users", "api", "/mnt/api", "/mnt/api/users"),
        ("/mnt", "/mntx/api", "root", "/mnt", "/mnt/mntx/api"),
        ("/mnt/", "/api", "api", "/mnt/api", "/mnt/api"),
        # Captures and text: decoded paths match decoded patterns.
        ("/mnt", "/mnt/orgs/acme/repos", "org", "/mnt/orgs/acme", "/mnt/orgs/acme/repos"),
        ("", "/café/menu", "cafe", "/café", "/café/menu"),
        ("", "/caf%C3%A9", "root", "", "/caf%C3%A9"),
    ],
)
def test_root_path_and_path(run, root_path, path, label, child_root, child_path):
    response, seen = run(path, root_path=root_path)
    assert response.status == 200
    assert (seen["label"], seen["root_path"], seen["path"]) == (label, child_root, child_path)
    assert seen["raw_path"] == path.encode("utf-8")  # left as it is


def test_the_incoming_scope_is_never_changed(app_and_seen):
    app, seen = app_and_seen
    scope = scope_for("/orgs/acme/x", root_path="/mnt/", path_params={"outer": "1"})
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in scope.items()}
    before["path_params"] = dict(scope["path_params"])
    call(app, scope)
    assert scope == before
    assert seen.apps[-1]["path_params"] == {"outer": "1", "org": "acme"}


# -- captures and dispatchc.route ----------------------------------------------------


def test_captures_go_to_path_params(run):
    _, seen = run("/orgs/acme")
    assert seen["path_params"] == {"org": "acme"}
    assert seen["dispatchc.route"] == "example.com /orgs/{org}"
    _, seen = run("/", "acme.example.com")
    assert seen["path_params"] == {"tenant": "acme"}
    assert seen["dispatchc.route"] == "{tenant}.example.com /"


def test_existing_path_params_are_copied_and_updated(run):
    _, seen = run("/orgs/new", path_params={"org": "old", "k": "v"})
    assert seen["path_params"] == {"org": "new", "k": "v"}
    _, seen = run("/orgs/new", path_params="not a mapping")
    assert seen["path_params"] == {"org": "new"}


def test_a_route_without_captures_leaves_path_params(run):
    _, seen = run("/api")
    assert "path_params" not in seen
    _, seen = run("/api", path_params={"k": "v"})
    assert seen["path_params"] == {"k": "v"}


def test_dispatchc_route_names_the_pattern_that_matched(run):
    assert run("/api/x", "www.example.com")[1]["dispatchc.route"] == "www.example.com /api"
    assert run("/café", "example.com")[1]["dispatchc.route"] == "example.com /café"


# -- status, redirect, 400, 404 ---------------------------------------------------------


def test_status_and_404_on_http(run):
    response, seen = run("/old/x")
    assert (response.status, response.text, seen) == (410, "410 Gone\n", None)
    assert response.headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert response.headers[b"content-length"] == b"9"
    response, _ = run("/", "unknown.test")
    assert (response.status, response.text) == (404, "404 Not Found\n")


def test_head_gets_the_headers_without_the_body(run):
    response, _ = run("/old", method="HEAD")
    assert (response.status, response.body, response.headers[b"content-length"]) == (
        410,
        b"",
        b"9",
    )


@pytest.mark.parametrize(
    ("path", "query", "location"),
    [
        ("/go/a%2Fb/rest", b"", "https://new.example.com/a%252Fb/rest"),
        ("/go/é/x", b"q=1", "https://new.example.com/%C3%A9/x?q=1"),
        ("/go/x", b"", "https://new.example.com/x"),
        ("/rel//evil.example/x", b"", "/evil.example/x"),
    ],
)
def test_redirects_quote_the_utf8_bytes_and_keep_the_query(run, path, query, location):
    response, seen = run(path, query=query)
    assert response.status in (301, 308)
    assert response.location == location
    assert response.text == f"Redirecting to {location}\n"
    assert seen is None


@pytest.mark.parametrize(
    ("host", "path", "status", "location"),
    [
        ("example.com", "/old", 410, None),
        ("example.com", "/go/x", 308, "https://new.example.com/x"),
        ("bad host", "/", 400, None),
        ("unknown.test", "/", 404, None),
    ],
)
def test_websocket_denials_use_the_http_response_extension(run, host, path, status, location):
    extensions = {"websocket.http.response": {}}
    response, seen = run(path, host, kind="websocket", scheme="ws", extensions=extensions)
    kinds = [m["type"] for m in response.messages]
    assert kinds == ["websocket.http.response.start", "websocket.http.response.body"]
    assert (response.status, response.location, seen) == (status, location, None)


@pytest.mark.parametrize(("host", "path"), [("example.com", "/old"), ("bad host", "/")])
def test_websocket_denials_close_before_accept_without_the_extension(run, host, path):
    response, seen = run(path, host, kind="websocket", scheme="ws")
    assert [m["type"] for m in response.messages] == ["websocket.close"]
    assert seen is None


def test_websocket_requests_are_routed_like_http(run):
    response, seen = run("/mnt/orgs/acme", root_path="/mnt", kind="websocket", scheme="wss")
    assert [m["type"] for m in response.messages][:2] == ["websocket.accept", "websocket.send"]
    assert (seen["type"], seen["label"]) == ("websocket", "org")
    assert seen["root_path"] == "/mnt/orgs/acme"
    assert seen["path_params"] == {"org": "acme"}


def test_an_unknown_scope_type_is_refused(run):
    with pytest.raises(RuntimeError, match="cannot answer a 'webtransport' request"):
        run("/old", kind="webtransport")


# -- a file without host blocks -------------------------------------------------------------


def test_without_host_blocks_the_host_is_never_looked_at():
    seen = Seen()
    with target_module(front=EchoApp("front", seen), back=EchoApp("back", seen)) as m:
        app = build_asgi(f"/ -> {m}:front\n/backend -> {m}:back\n").application
        for host in (b"bad host", None, b"x.test"):
            response = call(app, scope_for("/backend/x", host, root_path="/p", server=None))
            assert response.status == 200
            assert seen.apps[-1]["label"] == "back"
            assert seen.apps[-1]["root_path"] == "/p/backend"
            assert seen.apps[-1]["dispatchc.route"] == "default /backend"


def test_an_empty_file_answers_404():
    app = build_asgi("# nothing\n").application
    assert call(app, scope_for("/x")).status == 404
