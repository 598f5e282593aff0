"""SPEC §2: host matching, as a table of explicit requests.

Every target is ``T:named("label")`` (a factory with a string argument) from a
throw-away module in ``sys.modules``, so a response body names the block that
handled the request and the module records every factory call and every
environ an app saw.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.front.patterns import PatternError, _parse_host, parse_host

from .helpers import build_app as build
from .helpers import call as call_app
from .helpers import environ


def call(app, host="example.com", path="/", **extra):
    """Call the WSGI app; ``host=None`` leaves HTTP_HOST out of the environ.
    Returns the status line, the body and the environ after the call."""
    env = environ(host, path, **extra)
    response = call_app(app, env)
    return response.status_line, response.body, env


# -- the main table ----------------------------------------------------------------

MAIN = """
host example.com, www.example.com { / -> T:named("exact") }
host example.com:8080 { / -> T:named("exact:8080") }
host secure.test:443 { / -> T:named("secure:443") }
host secure.test { / -> T:named("secure") }
host plain.test:80 { / -> T:named("plain:80") }
host bücher.example { / -> T:named("buecher") }
host [::1] { / -> T:named("v6") }
host [2001:db8::1]:8443 { / -> T:named("v6:8443") }
host {sub}.example.com { / -> T:named("sub") }
host {t}.{r}.example.com { / -> T:named("tr") }
host *.example.com { / -> T:named("wild") }
default { / -> T:named("default") }
"""

LONG_LABELS = ".".join(["a" * 63] * 3)  # 191 characters


def _long(total: int) -> str:
    """A valid host name of exactly ``total`` characters."""
    rest = total - len(LONG_LABELS) - 1
    return LONG_LABELS + "." + "b" * rest


BAD = "400 Bad Request"

# (HTTP_HOST or None, extra environ, expected label, or "400 ...")
MAIN_CASES = [
    # exact, case-insensitive, any port for a portless pattern
    ("example.com", {}, "exact"),
    ("www.example.com", {}, "exact"),
    ("EXAMPLE.COM", {}, "exact"),
    ("ExAmPlE.cOm", {}, "exact"),
    ("example.com:80", {}, "exact"),
    ("example.com:8081", {}, "exact"),
    ("example.com:1", {}, "exact"),
    ("example.com:65535", {}, "exact"),
    # a port in the pattern
    ("example.com:8080", {}, "exact:8080"),
    ("Example.Com:8080", {}, "exact:8080"),
    ("example.com:08080", {}, "exact:8080"),  # at most 5 digits, leading zero ok
    # one trailing dot removed, two are a 400
    ("example.com.", {}, "exact"),
    ("example.com.:8080", {}, "exact:8080"),
    ("example.com..", {}, BAD),
    # scheme default ports
    ("secure.test", {"wsgi.url_scheme": "https"}, "secure:443"),
    ("secure.test", {"wsgi.url_scheme": "http"}, "secure"),
    ("secure.test:443", {"wsgi.url_scheme": "http"}, "secure:443"),
    ("secure.test:80", {"wsgi.url_scheme": "https"}, "secure"),
    ("plain.test", {}, "plain:80"),
    ("plain.test:80", {"wsgi.url_scheme": "https"}, "plain:80"),
    ("plain.test", {"wsgi.url_scheme": "https"}, "default"),
    ("plain.test:8000", {}, "default"),
    # SERVER_NAME:SERVER_PORT when HTTP_HOST is absent or empty
    (None, {"SERVER_NAME": "example.com", "SERVER_PORT": "8080"}, "exact:8080"),
    ("", {"SERVER_NAME": "example.com", "SERVER_PORT": "8080"}, "exact:8080"),
    (None, {"SERVER_NAME": "EXAMPLE.com", "SERVER_PORT": "80"}, "exact"),
    (None, {"SERVER_NAME": "example.com.", "SERVER_PORT": "8080"}, "exact:8080"),
    (None, {"SERVER_NAME": "secure.test", "SERVER_PORT": "443"}, "secure:443"),
    (
        None,
        {"SERVER_NAME": "secure.test", "SERVER_PORT": None, "wsgi.url_scheme": "https"},
        "secure:443",
    ),
    (
        None,
        {"SERVER_NAME": "secure.test", "SERVER_PORT": "", "wsgi.url_scheme": "https"},
        "secure:443",
    ),
    (None, {"SERVER_NAME": "plain.test", "SERVER_PORT": None}, "plain:80"),
    (None, {"SERVER_NAME": "a.example.com", "SERVER_PORT": "80"}, "sub"),
    # HTTP_HOST wins over SERVER_NAME
    ("example.com", {"SERVER_NAME": "secure.test", "SERVER_PORT": "443"}, "exact"),
    ("plain.test", {"SERVER_NAME": "example.com", "SERVER_PORT": "8080"}, "plain:80"),
    # IDNA: the pattern bücher.example is compiled to xn--bcher-kva.example
    ("xn--bcher-kva.example", {}, "buecher"),
    ("XN--BCHER-KVA.example:8080", {}, "buecher"),
    # captures and wildcard
    ("a.example.com", {}, "sub"),
    ("A.Example.Com", {}, "sub"),
    ("a_b.example.com", {}, "sub"),
    ("x-1.example.com", {}, "sub"),
    ("a.b.example.com", {}, "tr"),
    ("a.b.c.example.com", {}, "wild"),
    ("a.b.c.d.example.com:9000", {}, "wild"),
    ("evilexample.com", {}, "default"),
    ("example.com.evil.test", {}, "default"),
    ("com", {}, "default"),
    # bracketed IPv6, compared textually after lower-casing
    ("[::1]", {}, "v6"),
    ("[::1]:8080", {}, "v6"),
    ("[2001:db8::1]:8443", {}, "v6:8443"),
    ("[2001:DB8::1]:8443", {}, "v6:8443"),
    ("[2001:db8::1]", {}, "default"),
    ("[2001:db8:0::1]:8443", {}, "default"),
    ("[::2]", {}, "default"),
    (None, {"SERVER_NAME": "::1", "SERVER_PORT": "80"}, "v6"),
    (None, {"SERVER_NAME": "2001:DB8::1", "SERVER_PORT": "8443"}, "v6:8443"),
    (None, {"SERVER_NAME": "[::1]", "SERVER_PORT": "80"}, "v6"),
    # length: 253 is fine (with or without one trailing dot), 254 is not
    (_long(253), {}, "default"),
    (_long(253) + ".", {}, "default"),
    (_long(253) + ":8080", {}, "default"),
    (_long(254), {}, BAD),
    # invalid hosts: 400
    (None, {"SERVER_NAME": ""}, BAD),
    (None, {"SERVER_NAME": None}, BAD),
    ("", {"SERVER_NAME": ""}, BAD),
    (".", {}, BAD),
    (":8080", {}, BAD),
    ("a..b", {}, BAD),
    (".a", {}, BAD),
    (".example.com", {}, BAD),
    ("a.example..com", {}, BAD),
    ("exa mple.com", {}, BAD),
    ("example.com ", {}, BAD),
    ("ex\tample.com", {}, BAD),
    ("exa%mple.com", {}, BAD),
    ("example.com/x", {}, BAD),
    ("user@example.com", {}, BAD),
    ("example.com:80:80", {}, BAD),
    ("exa*mple.com", {}, BAD),
    ("exämple.com", {}, BAD),  # non-ASCII (as a latin-1 str, as servers give it)
    ("bücher.example", {}, BAD),
    ("b\xc3\xbccher.example", {}, BAD),
    (None, {"SERVER_NAME": "exämple.com"}, BAD),
    (None, {"SERVER_NAME": "bad host"}, BAD),
    # ports
    ("example.com:0", {}, BAD),
    ("example.com:65536", {}, BAD),
    ("example.com:99999", {}, BAD),
    ("example.com:123456", {}, BAD),
    ("example.com:008080", {}, BAD),  # 6 digits
    ("example.com:", {}, BAD),  # empty port
    ("example.com:http", {}, BAD),
    ("example.com:-1", {}, BAD),
    ("example.com:+80", {}, BAD),
    ("example.com: 80", {}, BAD),
    ("example.com:8o", {}, BAD),
    ("example.com:\u0663", {}, BAD),
    (None, {"SERVER_NAME": "example.com", "SERVER_PORT": "0"}, BAD),
    (None, {"SERVER_NAME": "example.com", "SERVER_PORT": "65536"}, BAD),
    (None, {"SERVER_NAME": "example.com", "SERVER_PORT": "http"}, BAD),
    # invalid IPv6
    ("[::1", {}, BAD),
    ("[::1]x", {}, BAD),
    ("[::1]:", {}, BAD),
    ("[::1]:0", {}, BAD),
    ("[::1]:65536", {}, BAD),
    ("[::1]:80:80", {}, BAD),
    ("[]", {}, BAD),
    ("[zz::1]", {}, BAD),
    ("[1.2.3.4]", {}, BAD),
    ("[example.com]", {}, BAD),
    ("[::1].", {}, BAD),
    ("[fe80::1%eth0]", {}, BAD),
    ("[fe80::1%25eth0]:80", {}, BAD),
    ("::1", {}, BAD),
    (None, {"SERVER_NAME": "fe80::1%eth0", "SERVER_PORT": "80"}, BAD),
    (None, {"SERVER_NAME": "example.com:8080", "SERVER_PORT": "80"}, BAD),  # ':' means IPv6
    (None, {"SERVER_NAME": "zz::1", "SERVER_PORT": "80"}, BAD),
]

ROUTE_NAMES = {
    "exact": "example.com /",
    "exact:8080": "example.com:8080 /",
    "secure:443": "secure.test:443 /",
    "secure": "secure.test /",
    "plain:80": "plain.test:80 /",
    "buecher": "xn--bcher-kva.example /",
    "v6": "[::1] /",
    "v6:8443": "[2001:db8::1]:8443 /",
    "sub": "{sub}.example.com /",
    "tr": "{t}.{r}.example.com /",
    "wild": "*.example.com /",
    "default": "default /",
}


@pytest.fixture
def main_app(targets):
    return build(targets, MAIN)


@pytest.mark.parametrize(("host", "extra", "expected"), MAIN_CASES, ids=repr)
def test_host_table(targets, main_app, host, extra, expected):
    status, body, environ = call(main_app, host, **extra)
    if expected == BAD:
        assert status == BAD
        assert body == b"400 Bad Request\n"
        assert targets.calls == []  # no factory was called
        assert targets.seen == []  # no app was called
        assert "dispatchc.route" not in environ
    else:
        assert status == "200 OK"
        assert body.decode() == expected
        assert targets.calls == [expected]
        route = "www.example.com /" if host == "www.example.com" else ROUTE_NAMES[expected]
        assert targets.seen[-1]["dispatchc.route"] == route


def test_www_pattern_route_name(targets, main_app):
    # The route name says which pattern of a multi-pattern block matched.
    call(main_app, "www.example.com")
    assert targets.seen[-1]["dispatchc.route"] == "www.example.com /"


def test_bad_request_response(targets, main_app):
    for host in ["bad host", "example.com:0", "[::1", "exämple.com"]:
        minimal = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_HOST": host}
        response = call_app(main_app, {**minimal, "wsgi.url_scheme": "http"})
        assert response.status_line == "400 Bad Request"
        assert response.header("Content-Type").startswith("text/plain")
        assert response.body == b"400 Bad Request\n"
    assert targets.calls == [] and targets.seen == []


def test_bad_host_reaches_no_factory_anywhere(targets):
    # Factories everywhere, including the default block and a catch-all
    # wildcard: a 400 calls none of them.
    app = build(
        targets,
        """
        host example.com { / -> T:make() cache 0 }
        host {x}.example.com { /{p} -> T:make(x, p) cache 0 }
        host *.test { / -> T:make("w") cache 0 }
        default { / -> T:make("d") cache 0 }
        """,
    )
    for host in ["a b", "example.com:0", "a..example.com", ".test", "ä.test", "[::1", "x.test:"]:
        status, _, _ = call(app, host, "/p")
        assert status == BAD, host
    assert targets.calls == []
    assert targets.seen == []
    # and a valid host still gets there
    assert call(app, "q.example.com", "/p")[1] == b"('q', 'p')"


# -- precedence --------------------------------------------------------------------


def _both_orders(blocks: list[str]) -> list[str]:
    return ["\n".join(blocks), "\n".join(reversed(blocks))]


@pytest.mark.parametrize("order", [0, 1], ids=["file-order", "reversed"])
@pytest.mark.parametrize(
    ("blocks", "cases"),
    [
        pytest.param(
            [
                'host *.example.com { / -> T:named("wild") }',
                'host {x}.example.com { / -> T:named("capture") }',
                'host a.example.com { / -> T:named("exact") }',
            ],
            [("a.example.com", "exact"), ("b.example.com", "capture"), ("a.a.example.com", "wild")],
            id="exact-beats-capture-and-wildcard",
        ),
        pytest.param(
            [
                'host {x}.example.com:8080 { / -> T:named("capture:8080") }',
                'host a.example.com { / -> T:named("exact") }',
            ],
            [("a.example.com:8080", "exact"), ("b.example.com:8080", "capture:8080")],
            id="exact-beats-ported-capture",
        ),
        pytest.param(
            [
                'host {x}.{y}.example.com { / -> T:named("two-captures") }',
                'host *.b.example.com { / -> T:named("wild-3") }',
            ],
            [("a.b.example.com", "wild-3"), ("a.c.example.com", "two-captures")],
            id="more-literal-labels-wins-over-captures",
        ),
        pytest.param(
            [
                'host *.example.com { / -> T:named("wild-2") }',
                'host {x}.b.example.com { / -> T:named("capture-3") }',
                'host *.a.b.example.com { / -> T:named("wild-4") }',
            ],
            [
                ("z.b.example.com", "capture-3"),
                ("y.z.b.example.com", "wild-2"),
                ("z.a.b.example.com", "wild-4"),
                ("a.b.example.com", "capture-3"),
                ("q.example.com", "wild-2"),
            ],
            id="more-literal-labels-wins",
        ),
        pytest.param(
            [
                'host *.example.com { / -> T:named("wild") }',
                'host {x}.example.com { / -> T:named("capture") }',
            ],
            [("a.example.com", "capture"), ("a.b.example.com", "wild")],
            id="capture-beats-wildcard",
        ),
        pytest.param(
            [
                'host *.example.com { / -> T:named("wild") }',
                'host {x}.example.com { / -> T:named("one") }',
                'host {x}.{y}.example.com { / -> T:named("two") }',
                'host {x}.{y}.{z}.example.com { / -> T:named("three") }',
            ],
            [
                ("a.example.com", "one"),
                ("a.b.example.com", "two"),
                ("a.b.c.example.com", "three"),
                ("a.b.c.d.example.com", "wild"),
            ],
            id="more-captures-beat-fewer-and-wildcard",
        ),
        pytest.param(
            [
                'host {x}.example.com { / -> T:named("capture") }',
                'host {x}.example.com:8080 { / -> T:named("capture:8080") }',
            ],
            [
                ("a.example.com:8080", "capture:8080"),
                ("a.example.com", "capture"),
                ("a.example.com:8081", "capture"),
            ],
            id="port-beats-portless-capture",
        ),
        pytest.param(
            [
                'host *.example.com { / -> T:named("wild") }',
                'host *.example.com:8080 { / -> T:named("wild:8080") }',
            ],
            [("a.b.example.com:8080", "wild:8080"), ("a.b.example.com", "wild")],
            id="port-beats-portless-wildcard",
        ),
        pytest.param(
            [
                'host example.com { / -> T:named("exact") }',
                'host example.com:8080 { / -> T:named("exact:8080") }',
            ],
            [
                ("example.com:8080", "exact:8080"),
                ("example.com", "exact"),
                ("example.com:80", "exact"),
            ],
            id="port-beats-portless-exact",
        ),
        pytest.param(
            [
                'host *.example.com:8080 { / -> T:named("wild:8080") }',
                'host {x}.example.com { / -> T:named("capture") }',
            ],
            [
                ("a.example.com:8080", "capture"),
                ("a.b.example.com:8080", "wild:8080"),
                ("a.b.example.com", "default"),
            ],
            id="port-only-at-equal-rank-capture-vs-wildcard",
        ),
        pytest.param(
            [
                'host *.example.com:8080 { / -> T:named("wild-2:8080") }',
                'host *.a.example.com { / -> T:named("wild-3") }',
            ],
            [("b.a.example.com:8080", "wild-3"), ("b.c.example.com:8080", "wild-2:8080")],
            id="port-only-at-equal-rank-literal-labels",
        ),
        pytest.param(
            [
                'host {x}.example.com:8080 { / -> T:named("capture:8080") }',
                'host {x}.{y}.example.com { / -> T:named("two") }',
            ],
            [("a.b.example.com:8080", "two"), ("a.example.com:8080", "capture:8080")],
            id="port-on-ported-capture-pattern-is-not-a-wildcard",
        ),
        pytest.param(
            [
                'host example.com:443 { / -> T:named("exact:443") }',
                'host {x}.com { / -> T:named("capture") }',
            ],
            [("example.com", "capture"), ("example.com:443", "exact:443")],
            id="ported-exact-does-not-match-other-port",
        ),
    ],
)
def test_precedence_whatever_the_order(targets, blocks, cases, order):
    text = _both_orders(blocks)[order] + '\ndefault { / -> T:named("default") }\n'
    app = build(targets, text)
    for host, expected in cases:
        status, body, _ = call(app, host)
        assert (host, status, body.decode()) == (host, "200 OK", expected)


def test_wildcard_and_capture_are_label_bounded(targets):
    # Never a plain string suffix test.
    app = build(
        targets,
        """
        host *.example.com { / -> T:named("wild") }
        host {x}.example.org { / -> T:named("capture") }
        """,
    )
    for host in [
        "evilexample.com",
        "evilexample.org",
        "example.com",
        "example.org",
        "xexample.com",
        "a.evilexample.com",
        "example.com.evil",
        "a.example.org.evil",
    ]:
        status, body, _ = call(app, host)
        assert (host, status, body) == (host, "404 Not Found", b"404 Not Found\n")
    assert call(app, "a.b.example.com")[1] == b"wild"
    assert call(app, "a.example.org")[1] == b"capture"
    assert call(app, "a.b.example.org")[0] == "404 Not Found"  # {x} is exactly one label
    assert targets.calls == ["wild", "capture"]


def test_wildcard_does_not_match_its_suffix(targets):
    app = build(
        targets,
        """
        host *.example.com { / -> T:named("wild") }
        default { / -> T:named("default") }
        """,
    )
    assert call(app, "example.com")[1] == b"default"
    assert call(app, "a.example.com")[1] == b"wild"
    assert call(app, "a.b.example.com")[1] == b"wild"


def test_capture_matches_exactly_one_label(targets):
    app = build(
        targets,
        """
        host {x}.example.com { / -> T:make(x) }
        default { / -> T:named("default") }
        """,
    )
    assert call(app, "a.b.example.com")[1] == b"default"
    assert call(app, "example.com")[1] == b"default"
    assert call(app, "A.example.com")[1] == b"('a',)"  # captured after lower-casing


def test_multi_capture_captures_every_label(targets):
    app = build(
        targets,
        """
        host {t}.{r}.example.com { /{p} -> T:make(r, t, p) }
        """,
    )
    status, body, _ = call(app, "Acme.EU.example.com:8080", "/x/y")
    assert status == "200 OK"
    assert body == b"('eu', 'acme', 'x')"
    seen = targets.seen[-1]
    assert seen["wsgiorg.routing_args"] == ((), {"t": "acme", "r": "eu", "p": "x"})
    assert seen["dispatchc.route"] == "{t}.{r}.example.com /{p}"
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/x", "/y")


def test_host_captures_in_routing_args_without_factory(targets):
    app = build(targets, "host {sub}.example.com { / -> T:app }")
    call(app, "Alice.example.com", "/a")
    assert targets.seen[-1]["wsgiorg.routing_args"] == ((), {"sub": "alice"})
    assert targets.seen[-1]["dispatchc.route"] == "{sub}.example.com /"


# -- default block, 404 --------------------------------------------------------------


def test_no_matching_block_goes_to_default(targets):
    app = build(
        targets,
        """
        host example.com { / -> T:named("exact") }
        / -> T:named("default")
        /d -> T:named("default-d")
        """,
    )
    assert call(app, "other.test")[1] == b"default"
    assert call(app, "other.test", "/d/x")[1] == b"default-d"
    assert targets.seen[-1]["dispatchc.route"] == "default /d"
    assert call(app, "example.com", "/d/x")[1] == b"exact"


def test_no_matching_block_and_no_default_is_404(targets):
    app = build(targets, 'host example.com { / -> T:named("exact") }')
    status, body, environ = call(app, "other.test", "/")
    assert status == "404 Not Found"
    assert body == b"404 Not Found\n"
    assert targets.calls == [] and targets.seen == []
    assert "dispatchc.route" not in environ


def test_chosen_block_is_final_even_when_no_route_matches(targets):
    app = build(
        targets,
        """
        host example.com { /api -> T:named("api") }
        host {x}.example.com { /api -> T:named("x-api") }
        default { / -> T:named("default") }
        """,
    )
    for host in ["example.com", "a.example.com"]:
        status, body, _ = call(app, host, "/other")
        assert (status, body) == ("404 Not Found", b"404 Not Found\n")
        status, body, _ = call(app, host, "/")
        assert status == "404 Not Found"
        status, body, _ = call(app, host, "/apix")
        assert status == "404 Not Found"
    assert call(app, "example.com", "/api/v1")[1] == b"api"
    assert call(app, "b.example.com", "/api")[1] == b"x-api"
    assert call(app, "other.test", "/other")[1] == b"default"
    assert targets.calls == ["api", "x-api", "default"]


# -- no host block: the host is never looked at --------------------------------------


@pytest.mark.parametrize(
    ("host", "extra"),
    [
        ("bad host", {}),
        ("example.com:0", {}),
        ("exämple.com", {}),
        ("[::1", {}),
        ("a..b", {}),
        (None, {"SERVER_NAME": None, "SERVER_PORT": None}),
        (None, {"SERVER_NAME": "", "SERVER_PORT": "0"}),
        ("example.com", {}),
    ],
    ids=repr,
)
def test_no_host_block_never_looks_at_the_host(targets, host, extra):
    app = build(
        targets,
        """
        / -> T:named("root")
        /api -> T:named("api")
        """,
    )
    status, body, _ = call(app, host, "/api/x", **extra)
    assert (status, body) == ("200 OK", b"api")
    assert targets.seen[-1]["dispatchc.route"] == "default /api"
    status, body, _ = call(app, host, "/", **extra)
    assert (status, body) == ("200 OK", b"root")


def test_default_block_only_never_looks_at_the_host(targets):
    app = build(targets, 'default { / -> T:named("d") }')
    assert call(app, "bad host")[:2] == ("200 OK", b"d")


# -- the plain-host shortcut of parse_host --------------------------------------------------


def _parsed(parse, text):  # type: ignore[no-untyped-def]
    try:
        return parse(text)
    except PatternError as exc:
        return ("error", str(exc))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abz09-_.A{}*:[]é", min_size=1, max_size=70))
def test_plain_hosts_take_a_shortcut_to_the_same_pattern(text):
    # parse_host skips the label checks for lower-case ASCII names; the
    # checks would have given the same pattern (or the same error).
    assert _parsed(parse_host, text) == _parsed(_parse_host, text)
