"""SPEC §10 against real servers: nginx + one gunicorn per upstream versus
gunicorn serving the single-process WSGI module of the whole file, both sent
the same raw bytes (no client normalisation). Equal app, route,
SCRIPT_NAME, PATH_INFO, routing_args, status, Location (percent-decoded)
and status bodies; each documented difference is asserted on its own."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatchc.plan.matcher import check_host

from .conftest import seen
from .live import request

pytestmark = pytest.mark.slow

HOSTS = [
    "example.com",
    "EXAMPLE.COM.",
    "www.example.com:8080",
    "example.com:00080",
    "example.com:0",
    "example.com:65536",
    "example.com:",
    "a..example.com",
    ".example.com",
    "a!b.example.com",
    "a" * 300,
    "[::1]",
    "[::1]:80",
    "[::ffff:1.2.3.4]",
    "[fe80::1%eth0]",
    "[::1",
    "[1:2:3:4:5:6:7:8:9]",
    "a_b.example.com",
    "alice.example.com",
    "none.example.com",
    "x.y.example.org",
    "a.b.example.org",
    "none1.none2.example.org",
    "users.example.net",
    "evil-example.com",
    "evilexample.com",
    "bücher.example",
]

PATHS = [
    "/",
    "//",
    "//api",
    "/api",
    "/api/",
    "/api//x",
    "/apix",
    "/api%2Fx",
    "/ap%69/x",
    "/caf%C3%A9",
    "/caf%C3%A9/x",
    "/api/v1/thing",
    "/api/v1/none-x",
    "/api/v1/a%0D%0AX-Evil:%201",
    "/api/v1/%E6%97%A5",
    "/static",
    "/static/x",
    "/teapot",
    "/perm",
    "/empty",
    "/old/x?q=1",
    "/old//evil.example/x",
    "/old/%5Cevil",
    "/old/%5C%5Cx",
    "/old",
    "/old/",
    "/go/a%0D%0Ab",
    "/go/a%20b?z=1",
    "/frag/x?q=1",
    "/moved?x=1",
    "/moved",
    "/moved-q?z=2",
    "/temp/a%20b?q=1",
    "/temp/%5Cx",
    "/temp/%E6%97%A5",
    "/see//evil.example",
    "/see/%5Cevil",
    "/see",
    "/%FF",
    "/a?b=c&d",
    "/a%20b",
    "/a$b",
    "/a%24b/x",
    "/api?x=%0D",
    "/bob",
    "/bob/admin",
    "/none/x",
    "/none/admin",
    "/p/q",
    "/none1/none2",
]


def same(edge, reference, label):
    assert edge.status == reference.status, (label, edge.body[:200], reference.body[:200])
    if reference.status == 200:
        assert json.loads(edge.body) == json.loads(reference.body), label
    elif reference.status in (301, 302, 303, 307, 308) and reference.header("Location"):
        assert edge.location == reference.location, label
    elif reference.status != 400:
        # status routes and 404: nginx answers with the same body. (A 400
        # for a bad Host comes from nginx's own check or from the gate.)
        assert edge.body == reference.body, label


@pytest.mark.parametrize("host", HOSTS)
def test_hosts(live_edge, host):
    for path in ("/", "/api/x", "/bob", "/none/x", "/p/q", "/none1/none2"):
        edge, reference = live_edge.both(path, host)
        same(edge, reference, (host, path))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", ["example.com", "users.example.net", "a.b.example.org"])
def test_paths(live_edge, host, path):
    edge, reference = live_edge.both(path, host)
    same(edge, reference, (host, path))


def test_the_corpus_reaches_every_kind_of_answer(live_edge):
    """Guard against a corpus that compares nothing: status routes, both
    redirect forms, 421 hand-offs and captures all occur."""
    statuses = {live_edge.both(p, "example.com")[1].status for p in PATHS}
    assert {200, 204, 301, 302, 307, 308, 410, 418} <= statuses
    assert live_edge.both("/", "none.example.com")[0].status == 404  # factory None, no fallback
    handed_on = seen(live_edge.both("/none/x", "users.example.net")[0])
    assert handed_on["app"] == "web" and handed_on["route"] == "users.example.net /"


def test_post_body_follows_the_421_hand_off(live_edge):
    """make(prefix) on `tenants` returns None: its backend answers 421 and
    nginx sends the same POST, body included, to `web`."""
    edge, reference = live_edge.both("/none-1", "users.example.net", "POST", b"hello=world")
    assert seen(edge) == seen(reference)
    assert seen(edge)["app"] == "web" and seen(edge)["body"] == "hello=world"


def test_two_hand_offs(live_edge):
    """make2 (more) -> make (tenants) -> fallback (web): two 421s."""
    edge, reference = live_edge.both("/none1/none2", "x.y.example.org")
    assert seen(edge) == seen(reference)
    assert seen(edge)["app"] == "fallback"


def test_no_header_injection_into_the_backend_request(live_edge):
    """A capture with %0D%0A reaches the app as data, never as a header
    (the path is forwarded re-escaped: ``rewrite ^ $uri break``)."""
    edge, _ = live_edge.both("/api/v1/a%0D%0AX-Evil:%201", "example.com")
    data = seen(edge)
    assert data["routing_args"] == [[], {"thing": "a\r\nX-Evil: 1"}]


def test_no_header_injection_into_a_redirect(live_edge):
    edge, reference = live_edge.both("/go/a%0D%0AX-Evil:%201", "example.com")
    assert edge.status == 302
    assert edge.header("X-Evil") is None
    assert edge.location == reference.location == b"https://example.com/x/a\r\nX-Evil: 1?a=1"


def test_relative_redirect_never_names_another_host(live_edge):
    for path in ("/old//evil.example/x", "/old/%5Cevil", "/old///%5C/evil"):
        edge, reference = live_edge.both(path, "example.com")
        location = edge.header("Location")
        assert location is not None and not location.startswith(("//", "/\\")), location
        assert edge.location == reference.location


# -- documented differences (docs/deploy.md), each under its code -------------------


def test_N107_control_characters_in_a_return_redirect(live_edge):
    """A 307 writes the substituted text into Location as it is: a request
    whose text holds a control character gets 400 instead."""
    edge, reference = live_edge.both("/temp/a%0D%0Ab", "example.com")
    assert reference.status == 307
    assert edge.status == 400 and edge.header("Location") is None


def test_N201_dot_segments_are_resolved(live_edge):
    """nginx routes /x/../api as /api; the single process does not."""
    edge, _ = live_edge.both("/x/../api/y", "example.com")
    _, normalised = live_edge.both("/api/y", "example.com")
    assert seen(edge) == seen(normalised)
    assert live_edge.both("/../x", "example.com")[0].status == 400


def test_N202_nul_in_path_is_refused(live_edge):
    assert live_edge.both("/api%00x", "example.com")[0].status == 400


def test_N203_missing_host(live_edge):
    assert live_edge.edge(request("/api", None)).status == 400  # HTTP/1.1
    assert live_edge.edge(request("/api", "")).status == 400
    # HTTP/1.0 without Host: the default block (a single process would use
    # SERVER_NAME, its bind address).
    answer = seen(live_edge.edge(request("/x", None, version="HTTP/1.0")))
    assert answer["route"] == "default /"


def test_N204_absolute_form_routes_by_its_own_host(live_edge):
    """nginx picks the server by the request line's host; the backend sees
    the Host header: where they disagree on the upstream, the client gets
    the backend's 421 (the single process routes by the Host header)."""
    raw = request("http://users.example.net/bob/admin", "example.com")
    assert live_edge.edge(raw).status == 421
    assert seen(live_edge.reference(raw))["route"] == "example.com /"
    same_host = request("http://users.example.net/bob/admin", "users.example.net")
    assert seen(live_edge.edge(same_host))["app"] == "admin"


# -- the Host gate of SPEC §2 ----------------------------------------------------------

_HOST_CHARS = st.sampled_from(list("abcxyz019-_.:[]") + ["", "%", "!", "é", " ", "A", "::"])


def _is_valid(host: str) -> bool:
    return not isinstance(check_host({"HTTP_HOST": host}), str)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    st.one_of(
        st.lists(_HOST_CHARS, max_size=12).map("".join),
        st.builds(
            lambda a, b, port: f"{a}.{b}{port}",
            st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True),
            st.sampled_from(["example.com", "example.com.", "com", "x"]),
            st.sampled_from(["", ":1", ":0", ":80", ":65535", ":65536", ":0080", ":", ":x"]),
        ),
        st.builds(
            lambda body, port: f"[{body}]{port}",
            st.sampled_from(
                [
                    "::1",
                    "1::",
                    "::",
                    "1:2:3:4:5:6:7:8",
                    "1:2:3:4:5:6:7",
                    "::ffff:1.2.3.4",
                    "::1.2.3.4",
                    "1::2::3",
                    "::ffff:1.2.3.256",
                    "g::1",
                    "::01.2.3.4",
                ]
            ),
            st.sampled_from(["", ":8080", ":0"]),
        ),
    )
)
def test_host_gate_equals_spec(live_edge, host):
    """Every Host SPEC §2 rejects gets 400 from nginx; every one it accepts
    reaches a backend (example.com's routes or the default block's)."""
    if any(c in host for c in " \t") or not host:
        return  # not a Host header a client can send (a separate test covers empty)
    response = live_edge.edge(request("/", host.encode("utf-8")))
    assert (response.status != 400) == _is_valid(host), (host, response.status)


def test_host_regex_equals_check_host():
    """The gate's regular expression, run by Python, is check_host itself."""
    from dispatchc.targets.nginx.target import host_regex

    # The same regex in Python's dialect: classes for brackets are written
    # with backslashes (a "[[]" warns), "$" is "\Z".
    python = host_regex().replace("[[]", r"\[").replace("[]]", r"\]").replace("$", r"\Z")
    pattern = re.compile(python, re.IGNORECASE)
    samples = [h for h in HOSTS if h.isascii()] + [
        "[::ffff:1.2.3.4]:1",
        "[::1.2.3.4]",
        "a" * 253,
        "a" * 253 + ".",
        "a" * 254,
        "x:65535",
        "x:065535",
        "x:00000",
        "[1::2::3]",
        "[::ffff:01.2.3.4]",
    ]
    for host in samples:
        assert bool(pattern.match(host.lower())) == _is_valid(host), host
