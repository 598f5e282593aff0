"""SPEC §3: path matching, the SCRIPT_NAME/PATH_INFO rewrite, routing args."""

from __future__ import annotations

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from .helpers import Label, environ
from .helpers import build_app as build
from .helpers import call as call_app


def call(app, path, script_name="", host="example.com", **extra):
    """Call the WSGI app; ``path=None`` leaves PATH_INFO out of the environ.
    Returns the status line, the body (text) and the environ."""
    env = environ(host, path, SCRIPT_NAME=script_name, SERVER_PROTOCOL=None, **extra)
    if path is None:
        del env["PATH_INFO"]
    response = call_app(app, env)
    return response.status_line, response.body.decode("utf-8"), env


MOUNTS = """
/                -> T:named("root")
/backend         -> T:named("backend")
/backend/api     -> T:named("api")
/backend/api/v1  -> T:named("v1")
/static          -> T:named("static")
/a/{x}           -> T:named("a-x")
/{y}/b           -> T:named("y-b")
/{y}/b/{z}/d     -> T:named("y-b-z-d")
/a/b/c           -> T:named("a-b-c")
/café            -> T:named("cafe")
/Case            -> T:named("Case")
/users/{user}    -> T:named("user")
"""

# (PATH_INFO, label, SCRIPT_NAME after, PATH_INFO after) with SCRIPT_NAME "" before
MOUNT_CASES = [
    ("/", "root", "", "/"),
    ("", "root", "", ""),
    ("/x", "root", "", "/x"),
    ("/x/y/", "root", "", "/x/y/"),
    # segment-bounded prefixes
    ("/backend", "backend", "/backend", ""),
    ("/backend/", "backend", "/backend", "/"),
    ("/backend/x", "backend", "/backend", "/x"),
    ("/backend/x/y", "backend", "/backend", "/x/y"),
    ("/backendx", "root", "", "/backendx"),
    ("/backend.json", "root", "", "/backend.json"),
    ("/backen", "root", "", "/backen"),
    # more segments first
    ("/backend/api", "api", "/backend/api", ""),
    ("/backend/api/", "api", "/backend/api", "/"),
    ("/backend/api/users", "api", "/backend/api", "/users"),
    ("/backend/apix", "backend", "/backend", "/apix"),
    ("/backend/api/v1", "v1", "/backend/api/v1", ""),
    ("/backend/api/v1/x", "v1", "/backend/api/v1", "/x"),
    ("/backend/api/v2/x", "api", "/backend/api", "/v2/x"),
    # no '..' resolution, no slash collapsing
    ("/backend/../admin", "backend", "/backend", "/../admin"),
    ("/static/../backend/api", "static", "/static", "/../backend/api"),
    ("/backend//api", "backend", "/backend", "//api"),
    ("//backend", "root", "", "//backend"),
    ("/backend/./api", "backend", "/backend", "/./api"),
    # no percent-decoding
    ("/backend%2Fapi", "root", "", "/backend%2Fapi"),
    ("/backend/api%2Fv1", "backend", "/backend", "/api%2Fv1"),
    # case-sensitive
    ("/BACKEND", "root", "", "/BACKEND"),
    ("/Backend/api", "root", "", "/Backend/api"),
    ("/Case/x", "Case", "/Case", "/x"),
    ("/case/x", "root", "", "/case/x"),
    # literal beats capture at the first difference
    ("/a/b", "a-x", "/a/b", ""),
    ("/a/q", "a-x", "/a/q", ""),
    ("/q/b", "y-b", "/q/b", ""),
    ("/a/b/c", "a-b-c", "/a/b/c", ""),
    ("/a/b/x", "a-x", "/a/b", "/x"),
    ("/a/b/c/e", "a-b-c", "/a/b/c", "/e"),
    ("/a/b/c/d", "y-b-z-d", "/a/b/c/d", ""),  # 4 segments beat 3
    ("/q/b/c/d", "y-b-z-d", "/q/b/c/d", ""),
    ("/a/b/z/d", "y-b-z-d", "/a/b/z/d", ""),  # the longest match wins, though /a/... is literal
    ("/a/b/z/e", "a-x", "/a/b", "/z/e"),
    ("/q/b/z/e", "y-b", "/q/b", "/z/e"),
    # a capture needs a non-empty segment
    ("/a/", "root", "", "/a/"),
    ("/a//b", "root", "", "/a//b"),
    ("//b", "root", "", "//b"),
    ("/users/", "root", "", "/users/"),
    ("/users//x", "root", "", "/users//x"),
    ("/users/bob", "user", "/users/bob", ""),
    ("/users/bob/", "user", "/users/bob", "/"),
    ("/users/bob//x", "user", "/users/bob", "//x"),
    # non-ASCII: /café matches what a server puts in PATH_INFO for /caf%C3%A9
    ("/caf\xc3\xa9", "cafe", "/caf\xc3\xa9", ""),
    ("/caf\xc3\xa9/menu", "cafe", "/caf\xc3\xa9", "/menu"),
    ("/café", "root", "", "/café"),
    ("/caf%C3%A9", "root", "", "/caf%C3%A9"),
    ("/cafe", "root", "", "/cafe"),
    # PATH_INFO that does not start with '/' only matches the '/' route
    ("backend", "root", "", "backend"),
    ("backend/api", "root", "", "backend/api"),
    ("x/b", "root", "", "x/b"),
]


@pytest.fixture
def mounts(targets):
    return build(targets, MOUNTS)


@pytest.mark.parametrize(("path", "label", "script", "rest"), MOUNT_CASES, ids=repr)
def test_path_table(targets, mounts, path, label, script, rest):
    status, body, _ = call(mounts, path)
    assert (status, body) == ("200 OK", label)
    seen = targets.seen[-1]
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == (script, rest)


@pytest.mark.parametrize(("path", "label", "script", "rest"), MOUNT_CASES[:30], ids=repr)
def test_existing_script_name_is_extended(targets, mounts, path, label, script, rest):
    status, body, _ = call(mounts, path, script_name="/mnt")
    assert body == label
    seen = targets.seen[-1]
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/mnt" + script, rest)


def test_missing_path_info_is_the_root(targets, mounts):
    status, body, _ = call(mounts, None)
    assert (status, body) == ("200 OK", "root")
    assert targets.seen[-1]["SCRIPT_NAME"] == ""


def test_root_route_changes_neither(targets, mounts):
    call(mounts, "/x/y", script_name="/mnt")
    seen = targets.seen[-1]
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/mnt", "/x/y")
    assert seen["dispatchc.route"] == "default /"


def test_route_names_use_the_path_as_written(targets, mounts):
    expected = {
        "/backend/x": "default /backend",
        "/backend/api/v1": "default /backend/api/v1",
        "/a/b": "default /a/{x}",
        "/q/b": "default /{y}/b",
        "/caf\xc3\xa9": "default /café",
        "/users/bob": "default /users/{user}",
        "/nothing": "default /",
    }
    for path, route in expected.items():
        call(mounts, path)
        assert targets.seen[-1]["dispatchc.route"] == route


def test_without_root_route_unmatched_paths_are_404(targets):
    app = build(targets, '/api -> T:named("api")\n/{x}/b -> T:named("x-b")')
    for path in ["/", "", "/apix", "/x", "api", "/x/c", "//b"]:
        status, body, environ = call(app, path)
        assert (path, status, body) == (path, "404 Not Found", "404 Not Found\n")
        assert "dispatchc.route" not in environ
        assert environ.get("PATH_INFO", "") == path and environ["SCRIPT_NAME"] == ""
    assert targets.seen == []


# -- agreement with DispatcherMiddleware ------------------------------------------------


LITERAL_MOUNTS = ["/backend", "/backend/api", "/static", "/a/b/c", "/x/y", "/caf\xc3\xa9"]
DM_PATHS = [
    "",
    "/",
    "/backend",
    "/backend/",
    "/backend/x",
    "/backendx",
    "/backend/api",
    "/backend/apix",
    "/backend/api/v1",
    "/static/../backend",
    "/a",
    "/a/b",
    "/a/b/c",
    "/a/b/c/",
    "/a/b/c/d",
    "/a//b/c",
    "//backend",
    "/BACKEND",
    "/backend/../admin",
    "/backend//",
    "/x",
    "/x/y/z",
    "/x/yz",
    "/caf\xc3\xa9/x",
    "/static//x",
    "/static/",
    "///",
]


@pytest.mark.parametrize("script_name", ["", "/mnt"])
def test_agrees_with_dispatcher_middleware(targets, script_name):
    def disp(path):
        return path.encode("latin-1").decode("utf-8")  # as written in the .disp file

    text = 'use root = T:named("/")\n/ -> root\n' + "\n".join(
        f'{disp(m)} -> T:named("{disp(m)}")' for m in LITERAL_MOUNTS
    )
    app = build(targets, text)
    seen: list = []
    labels: list = []
    dm = DispatcherMiddleware(
        Label("/", seen, labels), {m: Label(disp(m), seen, labels) for m in LITERAL_MOUNTS}
    )
    for path in DM_PATHS:
        call(app, path, script_name=script_name)
        call(dm, path, script_name=script_name)
        ours, theirs = targets.seen[-1], seen[-1]
        assert (path, targets.labels[-1], ours["SCRIPT_NAME"], ours["PATH_INFO"]) == (
            path,
            labels[-1],
            theirs["SCRIPT_NAME"],
            theirs["PATH_INFO"],
        )


# -- routing args --------------------------------------------------------------------


def test_routing_args_set_from_captures(targets):
    app = build(
        targets, 'host {org}.example.com { /repos/{repo} -> T:named("r")\n / -> T:named("root") }'
    )
    call(app, "/repos/dispatchc/issues", host="acme.example.com")
    seen = targets.seen[-1]
    assert seen["wsgiorg.routing_args"] == ((), {"org": "acme", "repo": "dispatchc"})
    assert seen["dispatchc.route"] == "{org}.example.com /repos/{repo}"
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/repos/dispatchc", "/issues")


def test_existing_routing_args_are_kept_and_updated(targets):
    app = build(targets, '/{a}/{b} -> T:named("ab")\n/ -> T:named("root")')
    existing = (("positional",), {"keep": 1, "a": "old"})
    call(app, "/x/y", **{"wsgiorg.routing_args": existing})
    args = targets.seen[-1]["wsgiorg.routing_args"]
    assert args == (("positional",), {"keep": 1, "a": "x", "b": "y"})
    # a route without captures leaves them alone
    call(app, "/", **{"wsgiorg.routing_args": existing})
    assert targets.seen[-1]["wsgiorg.routing_args"] == (("positional",), {"keep": 1, "a": "old"})


def test_route_without_captures_sets_no_routing_args(targets, mounts):
    call(mounts, "/backend/x")
    assert "wsgiorg.routing_args" not in targets.seen[-1]


def test_captures_of_fallen_through_routes_do_not_leak(targets):
    app = build(
        targets,
        """
        host {sub}.example.com {
            /{p}/{q} -> T:maybe(q, p, sub)
            /{p}     -> T:maybe(p, sub)
            /        -> T:named("root")
        }
        """,
    )
    targets.refuse = {"no", "nope"}
    # /{p}/{q} refuses (q == "no"); /{p} takes over with only its captures
    status, body, _ = call(app, "/x/no/z", host="a.example.com")
    assert body == "('x', 'a')"
    seen = targets.seen[-1]
    assert seen["wsgiorg.routing_args"] == ((), {"sub": "a", "p": "x"})
    assert seen["dispatchc.route"] == "{sub}.example.com /{p}"
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/x", "/no/z")
    # both refuse: "/" handles it; host captures only
    status, body, _ = call(app, "/nope/no", host="a.example.com")
    assert body == "root"
    seen = targets.seen[-1]
    assert seen["wsgiorg.routing_args"] == ((), {"sub": "a"})
    assert seen["dispatchc.route"] == "{sub}.example.com /"
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("", "/nope/no")
    assert targets.calls == [
        ("no", "x", "a"),
        ("x", "a"),
        ("no", "nope", "a"),
        ("nope", "a"),
        "root",
    ]


def test_fall_through_without_host_captures_leaves_no_routing_args(targets):
    app = build(targets, '/{prefix} -> T:maybe(prefix)\n/ -> T:named("default")')
    targets.refuse = {"nobody"}
    status, body, _ = call(app, "/nobody/x")
    assert body == "default"
    seen = targets.seen[-1]
    assert "wsgiorg.routing_args" not in seen
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("", "/nobody/x")
    assert seen["dispatchc.route"] == "default /"
    # None is not cached: the factory is asked again
    call(app, "/nobody/x")
    assert targets.calls.count(("nobody",)) == 2
    # an app is cached
    call(app, "/bob")
    call(app, "/bob/y")
    assert targets.calls.count(("bob",)) == 1
    assert targets.seen[-1]["wsgiorg.routing_args"] == ((), {"prefix": "bob"})


def test_fallback_order_follows_precedence(targets):
    app = build(
        targets,
        """
        /          -> T:maybe("root")
        /a         -> T:maybe("a")
        /{y}/b     -> T:maybe("y-b", y)
        /a/{x}     -> T:maybe("a-x", x)
        /a/b/{z}   -> T:maybe("a-b-z", z)
        """,
    )
    targets.refuse = {"a-b-z", "a-x", "y-b", "a"}
    status, body, _ = call(app, "/a/b/c")
    assert body == "('root',)"
    assert targets.calls == [("a-b-z", "c"), ("a-x", "b"), ("y-b", "a"), ("a",), ("root",)]
    targets.refuse = set()
    targets.calls.clear()
    status, body, _ = call(app, "/a/b/c")
    assert body == "('a-b-z', 'c')"
    targets.refuse = {"a-b-z"}
    status, body, _ = call(app, "/a/b/d")
    assert body == "('a-x', 'b')"


def test_all_refuse_is_404(targets):
    app = build(targets, '/{p} -> T:maybe(p)\n/ -> T:maybe("root")')
    targets.refuse = {"x", "root"}
    status, body, environ = call(app, "/x/y")
    assert (status, body) == ("404 Not Found", "404 Not Found\n")
    assert "wsgiorg.routing_args" not in environ
    assert "dispatchc.route" not in environ
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("", "/x/y")


# -- route names and factory arguments ------------------------------------------------


def test_route_name_is_the_matched_pattern_of_the_block(targets):
    app = build(
        targets,
        """
        host Example.COM, {x}.example.org, *.example.net, bücher.example, api.test:8080 {
            / -> T:named("root")
            /backend -> T:named("backend")
        }
        default { /backend -> T:named("d") }
        """,
    )
    cases = {
        "example.com": "example.com /backend",
        "a.example.org": "{x}.example.org /backend",
        "a.b.example.net": "*.example.net /backend",
        "xn--bcher-kva.example": "xn--bcher-kva.example /backend",
        "api.test:8080": "api.test:8080 /backend",
        "other.test": "default /backend",
    }
    for host, route in cases.items():
        status, _, _ = call(app, "/backend/x", host=host)
        assert status == "200 OK"
        assert targets.seen[-1]["dispatchc.route"] == route
    call(app, "/", host="a.example.org")
    assert targets.seen[-1]["dispatchc.route"] == "{x}.example.org /"


def test_flask_sample_route_names(targets):
    app = build(
        targets,
        """
        host example.com, www.example.com {
            /         -> T:named("frontend")
            /backend  -> T:named("backend")
        }
        host {subdomain}.example.com { / -> T:make(subdomain) }
        default { /backend -> T:named("d") }
        """,
    )
    call(app, "/x", host="alice.example.com")
    assert targets.seen[-1]["dispatchc.route"] == "{subdomain}.example.com /"
    call(app, "/backend", host="nobody.test")
    assert targets.seen[-1]["dispatchc.route"] == "default /backend"
    call(app, "/backend", host="www.example.com")
    assert targets.seen[-1]["dispatchc.route"] == "www.example.com /backend"


def test_factory_arguments_from_host_and_path_captures(targets):
    app = build(
        targets,
        """
        host {tenant}.{region}.example.com {
            /orgs/{org}/repos/{repo} -> T:make(repo, "lit", tenant, 7, org, region, -1)
            /{org} -> T:make(org, tenant)
            / -> T:make()
        }
        """,
    )
    status, body, _ = call(app, "/orgs/o1/repos/r1/tree", host="acme.eu.example.com")
    assert body == "('r1', 'lit', 'acme', 7, 'o1', 'eu', -1)"
    seen = targets.seen[-1]
    assert seen["wsgiorg.routing_args"] == (
        (),
        {"tenant": "acme", "region": "eu", "org": "o1", "repo": "r1"},
    )
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/orgs/o1/repos/r1", "/tree")
    assert call(app, "/orgs", host="acme.eu.example.com")[1] == "('orgs', 'acme')"
    assert call(app, "/orgs/o1/x", host="acme.eu.example.com")[1] == "('orgs', 'acme')"
    assert call(app, "/", host="acme.eu.example.com")[1] == "()"
    assert targets.calls == [("r1", "lit", "acme", 7, "o1", "eu", -1), ("orgs", "acme"), ()]


def test_factory_capture_of_every_host_pattern(targets):
    app = build(
        targets,
        """
        host {name}.example.com, {name}.example.org:8080 {
            / -> T:make(name)
        }
        """,
    )
    assert call(app, "/", host="a.example.com")[1] == "('a',)"
    assert call(app, "/", host="b.example.org:8080")[1] == "('b',)"
    assert call(app, "/", host="b.example.org")[0] == "404 Not Found"


def test_path_capture_values_are_raw_path_info(targets):
    app = build(targets, "/{name} -> T:make(name)")
    # latin-1 PATH_INFO text, '%' and '.' kept as they come
    assert call(app, "/caf\xc3\xa9/x")[1] == repr(("caf\xc3\xa9",))
    assert call(app, "/a%2Fb")[1] == "('a%2Fb',)"
    assert call(app, "/..")[1] == "('..',)"
    assert call(app, "/A")[1] == "('A',)"


def test_through_werkzeug_client(targets, mounts):
    # The same thing through a real request: /caf%C3%A9 reaches the /café route.
    response = Client(mounts).get("/caf%C3%A9/menu")
    assert response.get_data(as_text=True) == "cafe"
    seen = targets.seen[-1]
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/caf\xc3\xa9", "/menu")
    response = Client(mounts).get("/backend/api/users", environ_base={"SCRIPT_NAME": "/mnt"})
    assert response.get_data(as_text=True) == "api"
