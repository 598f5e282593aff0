"""The ASGI target agrees with the reference matcher (SPEC §2, §3, §9).

Random valid routing files (tests/strategies.py) are compiled with
``--target asgi`` and imported with fake ASGI targets: apps that record the
scope they are given, and factories (plain and ``async def``) that return
one, or None, by a deterministic function of their arguments, which the
matcher's ``returns_app`` uses too. Random requests (the strategies'
environs, told as an ASGI server tells them: a ``host`` header, an empty
one, two, or none and ``server``; a ``root_path`` that ``path`` holds or
not, with or without a trailing "/", or none) go as an ``http`` scope to the
generated ``application`` and, read as SPEC §9 says, to
``dispatchc.plan.matcher.dispatch``. They must agree on the status (and
Location) of ``status`` and ``redirect`` routes and of 400 and 404; on the
route (``dispatchc.route``) and the app; on the split (``root_path``
extended by the matched text, where the matcher extends SCRIPT_NAME;
``path`` and ``raw_path`` as they were); and on ``path_params`` (the
matcher's captures). The incoming scope is never changed.

test_differential.py compares the ASGI build with the WSGI build; this
test compares it with the oracle.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load_table
from dispatchc.ir import AppTarget, FactoryTarget, RedirectTarget, Route, RouteTable, StatusTarget
from dispatchc.plan.matcher import Candidate, Outcome, dispatch

from ...helpers import expected_location, load_module
from ...strategies import (
    APP_ATTRS,
    FACTORY_ATTRS,
    FAKE_MODULE,
    event,
    factory_label,
    make_decide,
    note,
    requests,
    tables,
)
from .conftest import MISSING, EchoApp, Seen, as_path_info, call, compile_asgi, scope_for
from .conftest import target_module as installed

# -- the fake targets -------------------------------------------------------------------


def fake_targets(decide, seen: Seen) -> dict[str, Any]:
    """The attributes of an ASGI twin of the strategies' fake target module:
    an ``EchoApp`` per application, and per factory a function (every other
    one ``async def``) that records its arguments and returns an
    ``EchoApp`` labelled with them, or None when ``decide`` says so."""
    attrs: dict[str, Any] = {attr: EchoApp(attr, seen) for attr in APP_ATTRS if "." not in attr}
    attrs["ns"] = types.SimpleNamespace(app=EchoApp("ns.app", seen))

    def factory(attr: str, is_async: bool):
        def made(args: tuple[Any, ...]) -> EchoApp | None:
            seen.factories.append((attr, args))
            return EchoApp(factory_label(attr, args), seen) if decide(attr, args) else None

        if is_async:

            async def make(*args):
                return made(args)
        else:

            def make(*args):
                return made(args)

        return make

    for i, attr in enumerate(FACTORY_ATTRS):
        attrs[attr] = factory(attr, is_async=i % 2 == 1)
    return attrs


# -- SPEC §9 read in the matcher's terms ------------------------------------------------


def as_text(path_info: str) -> str:
    """PATH_INFO text (UTF-8 bytes as latin-1) as ASGI's decoded text."""
    return path_info.encode("latin-1").decode("utf-8")


def asgi_args(route: Route, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A factory's arguments as the matcher gives them, as the ASGI target
    gives them: captures as text."""
    target = route.target
    assert isinstance(target, FactoryTarget)
    return tuple(
        as_text(value) if arg.kind == "capture" else value
        for arg, value in zip(target.args, args, strict=True)
    )


def made_by(candidate: Candidate) -> tuple[str, tuple[Any, ...]]:
    target = candidate.route.target
    assert isinstance(target, FactoryTarget)
    return target.attr, asgi_args(candidate.route, candidate.args())


@dataclass(frozen=True)
class Reading:
    """What SPEC §9 makes of an http scope."""

    environ: dict[str, Any]  # the request in the matcher's (WSGI) terms
    base: str  # root_path without one trailing "/"
    path: str  # the path the application is given
    hosts: int  # how many host headers


def reading(scope: dict[str, Any]) -> Reading:
    """SPEC §9 "Host" and "Path" written plainly: the host header, else
    ``server`` (none, or a unix socket: an empty host); the scheme's default
    port; the route path is ``path`` less ``root_path`` when ``path``
    continues it on a segment boundary, else ``path`` (and the application
    gets ``root_path + path``)."""
    hosts = [value for name, value in scope["headers"] if name == b"host"]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "wsgi.url_scheme": "https" if scope.get("scheme") in ("https", "wss") else "http",
    }
    if hosts and hosts[0]:
        environ["HTTP_HOST"] = hosts[0].decode("latin-1")
    else:
        server = scope.get("server")
        if server and server[1] is not None:
            environ["SERVER_NAME"], environ["SERVER_PORT"] = str(server[0]), str(server[1])
        else:  # no host at all: the matcher reads an empty one (400)
            environ["SERVER_NAME"] = ""
    root = scope.get("root_path", "")
    base = root[:-1] if root.endswith("/") else root
    path = scope["path"]
    if not base or path == base or path.startswith(base + "/"):
        route_path, app_path = path[len(base) :], path
    else:
        route_path, app_path = path, base + path
    environ["SCRIPT_NAME"] = as_path_info(base)
    environ["PATH_INFO"] = as_path_info(route_path)
    return Reading(environ, base, app_path, len(hosts))


def expected_params(before: Any, captures: dict[str, str]) -> Any:
    """``path_params`` after the route: unchanged without captures; else an
    existing mapping copied and updated with them (as text), anything else
    in its place taken as absent."""
    if not captures:
        return before
    text = {name: as_text(value) for name, value in captures.items()}
    return {**before, **text} if isinstance(before, Mapping) else text


# -- one request, both ways -------------------------------------------------------------


def check_request(
    module: Any, table: RouteTable, scope: dict[str, Any], decide, seen: Seen
) -> tuple[Outcome | None, dict[str, Any] | None]:
    """Send ``scope`` to the generated module and, as SPEC §9 reads it, to
    the matcher; compare. The matcher's outcome (None when the scope got
    400 for two host headers, which the matcher cannot be told) and what
    the handling app saw (None when no app was called)."""
    note(f"scope: {scope!r}")
    original = copy.deepcopy(scope)
    read = reading(scope)
    seen.apps.clear()
    seen.factories.clear()
    response = call(module.application, scope)
    assert scope == original, "the incoming scope was changed"
    assert len(seen.apps) <= 1
    got = seen.apps[0] if seen.apps else None

    if read.hosts > 1 and table.has_hosts:
        event("outcome: two host headers")
        assert response.status == 400
        assert got is None and seen.factories == []
        return None, None

    outcome = dispatch(
        table, read.environ, lambda route, args: decide(route.target.attr, asgi_args(route, args))
    )
    note(f"matcher: status={outcome.status} route={outcome.route_name!r}")
    # Factories asked: only those of the handling route and of the routes that
    # fell through before it, each with its own arguments; and every one of
    # those that fell through (None is never cached).
    candidates = [*outcome.tried, *([outcome.candidate] if outcome.candidate else [])]
    factories = [c for c in candidates if isinstance(c.route.target, FactoryTarget)]
    assert set(seen.factories) <= {made_by(c) for c in factories}
    assert {made_by(c) for c in outcome.tried} <= set(seen.factories)

    if outcome.status is not None:
        event(f"outcome: {outcome.status}")
        assert response.status == outcome.status
        assert got is None
        if outcome.status == 400:
            assert seen.factories == []
        return outcome, None

    cand = outcome.candidate
    assert cand is not None
    target = cand.route.target
    event(f"outcome: {type(target).__name__}, fell through {min(len(outcome.tried), 2)}")
    event(f"root_path: {'none' if 'root_path' not in scope else bool(read.base)}")
    if isinstance(target, StatusTarget | RedirectTarget):
        assert response.status == target.code
        assert got is None
        if isinstance(target, RedirectTarget):
            location = unquote(response.location or "", encoding="latin-1")
            assert location == expected_location(target, outcome, read.environ["QUERY_STRING"])
        return outcome, None

    assert isinstance(target, AppTarget | FactoryTarget)
    label = target.attr if isinstance(target, AppTarget) else factory_label(*made_by(cand))
    assert response.status == 200
    assert got is not None and got["label"] == label
    assert got["dispatchc.route"] == outcome.route_name
    # The split: root_path (optional, "" when absent) extended by the text the
    # matcher moved to SCRIPT_NAME; path as it was, or root_path + path.
    matched = cand.script_name[len(read.environ["SCRIPT_NAME"]) :]
    root_path = got.get("root_path", "")
    assert root_path == read.base + as_text(matched)
    assert got["path"] == read.path
    assert got["raw_path"] == scope["raw_path"]
    assert got["path"][len(root_path) :] == as_text(cand.path_info)
    assert got.get("path_params", MISSING) == expected_params(
        scope.get("path_params", MISSING), cand.captures
    )
    return outcome, got


# -- the property -----------------------------------------------------------------------

#: ``scope["server"]``: host and port; a unix socket; none.
SERVERS = (
    ("a.example.com", 80),
    ("example.com", 8080),
    ("B.Example.com.", 443),
    ("::1", 80),
    ("localhost", 0),
    ("/run/app.sock", None),
    None,
)
#: Mount points: one the paths never start with, and some they often do.
ROOTS = ("/pre", "/a", "/a/b", "/é")
PATH_PARAMS = (MISSING, MISSING, MISSING, {}, {"h1": "old", "k": "v", "p0": "old"}, "x")


def route_path(path_info: str) -> str:
    """The decoded path a PATH_INFO stands for: its bytes as UTF-8 where
    they are (as servers decode them), else the text itself (a path of its
    own); "/" in front when it is neither empty nor starts with one."""
    try:
        text = path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        text = path_info
    return text if not text or text.startswith("/") else "/" + text


@st.composite
def roots(draw, path: str) -> str | None:
    """A ``root_path``: none, empty, "/", one of ROOTS, or the start of the
    path cut anywhere (on a segment boundary or not); sometimes with a
    trailing "/"."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return None
    if kind == 1:
        return draw(st.sampled_from(("", "/")))
    root = path[: draw(st.integers(0, len(path)))].rstrip("/") if kind == 2 else ""
    if len(root) < 2:
        root = draw(st.sampled_from(ROOTS))
    return root + ("/" if draw(st.integers(0, 3)) == 0 else "")


@st.composite
def scopes(draw, spec) -> dict[str, Any]:
    """An http scope for a request of ``requests(spec)``: its host as the
    ``host`` header (rarely twice), its path under a ``root_path`` that
    ``path`` holds (as uvicorn gives it) or not (as hypercorn does)."""
    environ = draw(requests(spec))
    text = route_path(environ.get("PATH_INFO", ""))
    root = draw(roots(text))
    base = (root or "").removesuffix("/")
    path = (base + text if draw(st.booleans()) else text) or "/"
    headers = []
    if "HTTP_HOST" in environ:
        host = environ["HTTP_HOST"].encode("latin-1")
        headers.append((b"host", host))
        if draw(st.integers(0, 11)) == 0:
            headers.append((b"host", draw(st.sampled_from((host, b"example.com")))))
    headers.append((b"accept", b"*/*"))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"],
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": environ["QUERY_STRING"].encode("latin-1"),
        "headers": headers,
    }
    scheme = draw(st.sampled_from((None, "http", "https")))  # sets the default port
    if scheme is not None:
        scope["scheme"] = scheme
    server = draw(st.sampled_from(SERVERS))
    if server is not None:
        scope["server"] = server
    if root is not None:
        scope["root_path"] = root
    params = draw(st.sampled_from(PATH_PARAMS))
    if params is not MISSING:
        scope["path_params"] = copy.deepcopy(params)
    return scope


def other_scheme(scope: dict[str, Any]) -> dict[str, Any]:
    scope = copy.deepcopy(scope)
    scope["scheme"] = "http" if scope.get("scheme") == "https" else "https"
    return scope


@settings(
    max_examples=120,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    spec=tables(),
    mode=st.sampled_from(("all", "none", "mixed", "mixed")),
    salt=st.integers(0, 3),
)
def test_asgi_module_agrees_with_reference_matcher(data, spec, mode, salt):
    note(spec.source())
    decide = make_decide(mode, salt)
    seen = Seen()
    names = spec.route_names()
    with installed(**fake_targets(decide, seen)) as module_name:
        text = spec.source().replace(FAKE_MODULE + ":", module_name + ":")
        table = load_table("routes.disp", text.encode("utf-8"))
        module = load_module(compile_asgi(text))
        sent = data.draw(st.lists(scopes(spec), min_size=4, max_size=12))
        # Then each again over the other scheme: what one request's scheme
        # decided (a default port) must not stick to its host header.
        for scope in [*sent, *map(other_scheme, sent)]:
            outcome, _ = check_request(module, table, scope, decide, seen)
            if outcome is not None and outcome.status is None:
                assert outcome.route_name in names


# -- explicit examples --------------------------------------------------------------------

PINNED = """\
host {h1}.example.com {
    /a/{p1} -> M:f_0(h1, p1)
    /a      -> M:app_0
    /é/{p0} -> M:f_1(p0)
    /go     -> redirect 307 "/to{path}"
    /       -> M:app_1
}
host s.example.com:443 {
    / -> M:app_2
}
/gone -> status 410
/     -> M:ns.app
"""


@pytest.fixture(scope="module")
def pinned():
    seen = Seen()
    decide = make_decide("all", 0)
    with installed(**fake_targets(decide, seen)) as module_name:
        text = PINNED.replace("M:", module_name + ":")
        table = load_table("routes.disp", text.encode("utf-8"))
        module = load_module(compile_asgi(text))

        def run(*args, **kwargs):
            scope = scope_for(*args, **kwargs)
            return check_request(module, table, scope, decide, seen)

        yield run


@pytest.mark.parametrize(
    ("args", "kwargs", "route", "root_path", "path"),
    [
        # path holds root_path (uvicorn), with or without a trailing "/".
        (("/pre/a/x/y", "t.example.com"), {"root_path": "/pre"}, "/a/{p1}", "/pre/a/x", None),
        (("/pre/a/x/y", "t.example.com"), {"root_path": "/pre/"}, "/a/{p1}", "/pre/a/x", None),
        (("/pre", "t.example.com"), {"root_path": "/pre"}, "/", "/pre", None),
        # path without root_path (hypercorn): the app gets root_path + path...
        (("/a/x", "t.example.com"), {"root_path": "/pre"}, "/a/{p1}", "/pre/a/x", "/pre/a/x"),
        (("/pre/a", "t.example.com"), {"root_path": "/pr"}, "/", "/pr", "/pr/pre/a"),
        # ...unless it continues root_path on a segment boundary.
        (("/a/x", "t.example.com"), {"root_path": "/a"}, "/", "/a", None),
        # Decoded text, and the same split whatever the block.
        (("/é/z/q", "t.example.com"), {}, "/é/{p0}", "/é/z", None),
        (("/a/x",), {"host": None, "server": ("t.example.com", 80)}, "/a/{p1}", "/a/x", None),
        (("/a/x",), {"host": b"", "server": ("::1", 8000), "root_path": "/"}, "/", "", None),
    ],
)
def test_the_split_agrees_with_the_matcher(pinned, args, kwargs, route, root_path, path):
    outcome, got = pinned(*args, **kwargs)
    assert outcome is not None and got is not None
    assert outcome.route_name is not None and outcome.route_name.endswith(" " + route)
    assert got["root_path"] == root_path
    assert got["path"] == (args[0] if path is None else path)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": None, "server": None},
        {"host": None, "server": ("/run/app.sock", None)},
        {"host": b"", "server": ("t.example.com", 0)},
        {"headers": [(b"host", b"t.example.com")]},  # a second host header
        {"host": "t.example.com:65536"},
    ],
)
def test_no_host_or_a_bad_one_gets_400(pinned, kwargs):
    outcome, got = pinned("/a/x", **kwargs)
    assert outcome is None or outcome.status == 400
    assert got is None


@pytest.mark.parametrize(
    ("kwargs", "route"),
    [
        ({"host": "s.example.com", "scheme": "https"}, "s.example.com:443 /"),
        ({"host": "s.example.com:443"}, "s.example.com:443 /"),
        ({"host": None, "server": ("s.example.com", 443)}, "s.example.com:443 /"),
        ({"host": "s.example.com", "scheme": "http"}, "{h1}.example.com /"),
        ({"host": "s.example.com"}, "{h1}.example.com /"),  # no scheme: http
    ],
)
def test_the_default_port_comes_from_the_scheme(pinned, kwargs, route):
    outcome, _ = pinned("/x", **kwargs)
    assert outcome is not None and outcome.route_name == route


def test_a_host_without_a_port_follows_the_scheme_on_every_request():
    # A pattern (no exact host) names port 80: over one module, the same host
    # header means port 80 on http and 443 on https, whatever came before.
    seen = Seen()
    decide = make_decide("all", 0)
    with installed(**fake_targets(decide, seen)) as module_name:
        text = f"""\
host {{h1}}.example.com:80 {{
    / -> {module_name}:app_0
}}
host *.example.com {{
    / -> {module_name}:app_1
}}
"""
        table = load_table("routes.disp", text.encode("utf-8"))
        module = load_module(compile_asgi(text))
        for scheme, route in [
            ("https", "*.example.com /"),
            ("http", "{h1}.example.com:80 /"),
            (None, "{h1}.example.com:80 /"),
            ("https", "*.example.com /"),
        ]:
            scope = scope_for("/", "x.example.com", scheme=scheme)
            outcome, _ = check_request(module, table, scope, decide, seen)
            assert outcome is not None and outcome.route_name == route, scheme


def test_responses_of_dispatchc_agree_with_the_matcher(pinned):
    outcome, _ = pinned("/pre/go/x", "t.example.com", root_path="/pre", query=b"q=1")
    assert outcome is not None and outcome.route_name == "{h1}.example.com /go"
    outcome, _ = pinned("/gone/x", "unknown.test", root_path="/gone")
    assert outcome is not None and outcome.route_name == "default /"
    outcome, _ = pinned("/gone/x", "unknown.test")
    assert outcome is not None and outcome.route_name == "default /gone"
