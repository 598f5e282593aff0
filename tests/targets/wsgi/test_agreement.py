"""The WSGI target agrees with the reference matcher (SPEC §2, §3).

Random valid routing files (tests/strategies.py) are compiled and imported
with fake targets; random requests go to both the generated ``application``
and ``dispatchc.plan.matcher.dispatch``, which must agree on the status, the
handling route, the app, SCRIPT_NAME, PATH_INFO and ``wsgiorg.routing_args``.
Factories return an app or None from a deterministic function of their
arguments, which the matcher's ``returns_app`` uses too.

The explicit tests at the end pin tricky precedence and fallback cases to
the values the SPEC gives, not only to the matcher.
"""

from __future__ import annotations

import copy
import functools
import textwrap
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load_table
from dispatchc.ir import AppTarget, FactoryTarget, RouteTable, StatusTarget
from dispatchc.plan.matcher import Outcome, dispatch

from ...helpers import build_module, compile_text, expected_location, load_module
from ...helpers import call as call_app
from ...helpers import environ as environ_for
from ...strategies import (
    FAKE_MODULE,
    Calls,
    event,
    factory_label,
    fake_targets,
    make_decide,
    note,
    requests,
    tables,
)

# -- running one request on both sides ---------------------------------------


def call(app, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    response = call_app(app, environ)
    return response.status, dict(response.headers), response.body


_ABSENT = object()


def expected_routing_args(before: Any, captures: dict[str, str]) -> Any:
    """SPEC §3: an existing value is kept, its kwargs updated with the
    captures; one that is not an (args, kwargs) pair is taken as absent."""
    if not captures:
        return before
    if not (
        type(before) is tuple
        and len(before) == 2
        and type(before[0]) in (tuple, list)
        and isinstance(before[1], dict)
    ):
        return ((), captures)
    return (before[0], {**before[1], **captures})


@dataclass
class Checked:
    outcome: Outcome
    status: int
    env: dict[str, Any]  # the environ after the call
    seen: dict[str, Any]  # what the handling app saw (env for built-in responses)


def check_request(
    module: Any,
    table: RouteTable,
    environ: dict[str, Any],
    decide,
    calls: Calls,
) -> Checked:
    """Send ``environ`` to the generated module and the matcher; compare.

    ``calls`` holds this request's app and factory calls afterwards.
    """
    note(f"request: {environ!r}")
    original = copy.deepcopy(environ)
    outcome = dispatch(
        table, copy.deepcopy(environ), lambda route, args: decide(route.target.attr, args)
    )
    env = copy.deepcopy(environ)
    calls.clear()
    status, headers, _ = call(module.application, env)
    note(f"matcher: status={outcome.status} route={outcome.route_name!r}")
    if outcome.status is not None:
        event(f"outcome: {outcome.status}")
    else:
        kind = type(outcome.candidate.route.target).__name__
        depth = len(outcome.candidate.route.path.segments)
        event(f"outcome: {kind}, {outcome.choice.why}, fell through {min(len(outcome.tried), 2)}")
        event(f"depth {depth}, host captures {bool(outcome.choice.captures)}")

    # Factories asked during this request: only those of the handling route and of
    # the routes that fell through before it, with their own arguments.
    allowed = {
        (c.route.target.attr, c.args())
        for c in [*outcome.tried, *([outcome.candidate] if outcome.candidate else [])]
        if isinstance(c.route.target, FactoryTarget)
    }
    assert set(calls.factories) <= allowed, (calls.factories, allowed)

    if outcome.status is not None:
        assert status == outcome.status
        assert calls.apps == []
        assert "dispatchc.route" not in env
        for key in ("SCRIPT_NAME", "PATH_INFO", "wsgiorg.routing_args"):
            assert env.get(key, _ABSENT) == original.get(key, _ABSENT), key
        if outcome.status == 400:
            assert calls.factories == []
        return Checked(outcome, status, env, env)

    cand = outcome.candidate
    assert cand is not None
    route_name = f"{outcome.choice.prefix} {cand.route.path.text}"
    assert outcome.route_name == route_name
    # SPEC §3: the matched prefix moves from PATH_INFO to SCRIPT_NAME.
    before = original.get("SCRIPT_NAME", "") + original.get("PATH_INFO", "")
    assert cand.script_name + cand.path_info == before
    routing_args = expected_routing_args(
        original.get("wsgiorg.routing_args", _ABSENT), cand.captures
    )

    target = cand.route.target
    if isinstance(target, AppTarget | FactoryTarget):
        if isinstance(target, AppTarget):
            label = target.attr
        else:
            label = factory_label(target.attr, cand.args())
        assert status == 200
        assert headers.get("X-App") == label
        assert len(calls.apps) == 1
        seen = calls.apps[0]
    else:
        # Built-in responses: the environ was rewritten in place before the call.
        assert calls.apps == []
        seen = env
        if isinstance(target, StatusTarget):
            assert status == target.code
        else:
            assert status == target.code
            location = unquote(headers["Location"], encoding="latin-1")
            assert location == expected_location(target, outcome, original.get("QUERY_STRING", ""))
    assert seen.get("dispatchc.route") == route_name
    assert seen.get("SCRIPT_NAME", "") == cand.script_name
    assert seen.get("PATH_INFO", "") == cand.path_info
    assert seen.get("wsgiorg.routing_args", _ABSENT) == routing_args
    if not cand.route.path.segments:
        # The route "/" changes neither.
        assert seen.get("SCRIPT_NAME", _ABSENT) == original.get("SCRIPT_NAME", _ABSENT)
        assert seen.get("PATH_INFO", _ABSENT) == original.get("PATH_INFO", _ABSENT)
    return Checked(outcome, status, env, seen)


# -- the property -------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def compiled(text: str) -> tuple[RouteTable, str]:
    """IR and generated source of a file, cached: shrinking re-runs the same files."""
    # The strategy only builds valid files: a compile error here is a finding.
    return load_table("routes.disp", text.encode("utf-8")), compile_text(text)


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
def test_generated_module_agrees_with_reference_matcher(data, spec, mode, salt):
    text = spec.source()
    note(text)
    table, code = compiled(text)
    decide = make_decide(mode, salt)
    names = spec.route_names()
    with fake_targets(decide) as calls:
        module = load_module(code)
        for environ in data.draw(st.lists(requests(spec), min_size=4, max_size=12)):
            checked = check_request(module, table, environ, decide, calls)
            if checked.outcome.status is None:
                assert checked.outcome.route_name in names


# -- explicit regression examples ---------------------------------------------


class Pinned:
    """A compiled file with fake targets, checked against matcher and SPEC."""

    def __init__(self, source: str, decide=lambda attr, args: True):
        self.text = textwrap.dedent(source).replace("M:", FAKE_MODULE + ":")
        self.table = load_table("routes.disp", self.text.encode("utf-8"))
        self.decide = decide

    def route(self, host: str | None, path: str, **extra: Any) -> tuple[str | None, dict, Calls]:
        """(dispatchc.route, what the app saw, calls) after agreeing with the matcher."""
        environ = environ_for(host, path, **extra)
        with fake_targets(self.decide) as calls:
            module = build_module(self.text)
            checked = check_request(module, self.table, environ, self.decide, calls)
        return checked.seen.get("dispatchc.route"), checked.seen, calls


FALLBACK = """
    host {h1}.example.com {
        /a/{p1}/b -> M:f_0(h1, p1)
        /a/{p1}   -> M:f_1(p1, "s")
        /{p0}     -> M:f_2(p0, 3)
        /         -> M:app_0
    }
"""


def test_fallback_chain_across_factories_returning_none():
    pinned = Pinned(FALLBACK, decide=lambda attr, args: False)
    route, seen, calls = pinned.route("t.example.com", "/a/z/b/rest")
    assert route == "{h1}.example.com /"
    assert seen["label"] == "app_0"
    # Tried most specific first, each with its own arguments.
    assert calls.factories == [
        ("f_0", ("t", "z")),
        ("f_1", ("z", "s")),
        ("f_2", ("a", 3)),
    ]
    # The route "/" changes neither; path captures of routes that fell through don't leak.
    assert seen["SCRIPT_NAME"] == "" and seen["PATH_INFO"] == "/a/z/b/rest"
    assert seen["wsgiorg.routing_args"] == ((), {"h1": "t"})


def test_fallback_stops_at_first_factory_returning_an_app():
    pinned = Pinned(FALLBACK, decide=lambda attr, args: attr == "f_1")
    route, seen, calls = pinned.route("t.example.com", "/a/z/b/rest", SCRIPT_NAME="/pre")
    assert route == "{h1}.example.com /a/{p1}"
    assert seen["label"] == "f_1('z', 's')"
    assert calls.factories == [("f_0", ("t", "z")), ("f_1", ("z", "s"))]
    assert seen["SCRIPT_NAME"] == "/pre/a/z" and seen["PATH_INFO"] == "/b/rest"
    assert seen["wsgiorg.routing_args"] == ((), {"h1": "t", "p1": "z"})


def test_fallback_with_nothing_left_is_404():
    pinned = Pinned(
        """
        host a.example.com {
            /{p0} -> M:f_0(p0)
            /b    -> M:f_1()
        }
        / -> M:app_1
        """,
        decide=lambda attr, args: False,
    )
    route, seen, calls = pinned.route("a.example.com", "/b/c")
    assert route is None and seen.get("label") is None
    assert calls.factories == [("f_1", ()), ("f_0", ("b",))]  # literal first; no other block


def test_more_segments_beat_fewer():
    pinned = Pinned(
        """
        /a      -> M:app_0
        /{x}/b  -> M:app_1
        """
    )
    assert pinned.route(None, "/a/b")[0] == "default /{x}/b"
    assert pinned.route(None, "/a/b/")[0] == "default /{x}/b"
    assert pinned.route(None, "/a/c")[0] == "default /a"
    assert pinned.route(None, "/a")[0] == "default /a"
    assert pinned.route(None, "/ab/b")[0] == "default /{x}/b"
    assert pinned.route(None, "/ab")[0] is None  # 404: no "/" route


def test_literal_beats_capture_at_first_difference():
    pinned = Pinned(
        """
        /{x}/b      -> M:app_0
        /a/{y}      -> M:app_1
        /{x}/{y}/c  -> M:app_2
        /{x}/b/{z}  -> M:f_0(x, z)
        """
    )
    assert pinned.route(None, "/a/b")[0] == "default /a/{y}"
    assert pinned.route(None, "/z/b")[0] == "default /{x}/b"
    # Three segments beat two; among three, /{x}/b/{z} has a literal where /{x}/{y}/c has a capture.
    route, seen, _ = pinned.route(None, "/a/b/c")
    assert route == "default /{x}/b/{z}"
    assert seen["label"] == "f_0('a', 'c')"
    assert seen["wsgiorg.routing_args"] == ((), {"x": "a", "z": "c"})
    assert pinned.route(None, "/a/q/c")[0] == "default /{x}/{y}/c"


def test_empty_segments_never_capture():
    pinned = Pinned(
        """
        /{x}    -> M:app_0
        /a/{y}  -> M:app_1
        /       -> M:app_2
        """
    )
    assert pinned.route(None, "//")[0] == "default /"
    assert pinned.route(None, "/a/")[0] == "default /{x}"
    route, seen, _ = pinned.route(None, "/a//b")
    assert route == "default /{x}"
    assert seen["SCRIPT_NAME"] == "/a" and seen["PATH_INFO"] == "//b"


HOSTS = """
    host a.example.com {
        / -> M:app_0
    }
    host {h1}.example.com {
        / -> M:app_1
    }
    host *.example.com {
        / -> M:app_2
    }
    host *.x.example.com {
        / -> M:ns.app
    }
    host {h1}.{h2}.example.com:8080 {
        / -> M:f_0(h1, h2)
    }
    host {h1}.example.com:8080 {
        / -> M:f_1(h1)
    }
    host *.example.com:8080, a.example.com:8080 {
        / -> M:f_2()
    }
    default {
        / -> status 404
    }
"""


@pytest.mark.parametrize(
    ("host", "route"),
    [
        # Exact beats any pattern (and an exact host with a port beats one without).
        ("a.example.com", "a.example.com /"),
        ("A.Example.COM.", "a.example.com /"),
        ("a.example.com:8080", "a.example.com:8080 /"),
        ("a.example.com:9000", "a.example.com /"),
        # A capture beats "*"; the port only decides between equal ranks.
        ("b.example.com", "{h1}.example.com /"),
        ("b.example.com:8080", "{h1}.example.com:8080 /"),
        ("b.c.example.com", "*.example.com /"),
        ("b.c.example.com:8080", "{h1}.{h2}.example.com:8080 /"),
        ("b.c.d.example.com:8080", "*.example.com:8080 /"),
        ("b.c.d.example.com:443", "*.example.com /"),
        # More literal labels beat more captures.
        ("b.x.example.com", "*.x.example.com /"),
        ("b.x.example.com:8080", "*.x.example.com /"),
        ("x.example.com:8080", "{h1}.example.com:8080 /"),
        # Never a plain suffix test.
        ("evilexample.com", "default /"),
        ("example.com", "default /"),
    ],
)
def test_host_precedence(host, route):
    assert Pinned(HOSTS).route(host, "/p")[0] == route


def test_port_decides_only_between_equal_ranks():
    pinned = Pinned(
        """
        host {h1}.example.com {
            / -> M:app_0
        }
        host *.example.com:8080 {
            / -> M:app_1
        }
        host *.example.com {
            / -> M:app_2
        }
        host *.x.example.com {
            / -> M:ns.app
        }
        host {h1}.{h2}.example.com:8080 {
            / -> M:f_0(h1, h2)
        }
        """
    )
    # A capture beats "*" whatever the ports.
    assert pinned.route("b.example.com:8080", "/")[0] == "{h1}.example.com /"
    # Between two "*" patterns the one with the port wins, on its port only.
    assert pinned.route("b.c.d.example.com:8080", "/")[0] == "*.example.com:8080 /"
    assert pinned.route("b.c.d.example.com", "/")[0] == "*.example.com /"
    # More literal labels beat a port.
    assert pinned.route("b.x.example.com:8080", "/")[0] == "*.x.example.com /"
    assert pinned.route("b.y.example.com:8080", "/")[0] == "{h1}.{h2}.example.com:8080 /"
    assert pinned.route("b.y.example.com:80", "/")[0] == "*.example.com /"


def test_port_pattern_uses_the_scheme_default_port():
    pinned = Pinned(
        """
        host {h1}.example.com:80 {
            / -> M:app_0
        }
        host *.example.com {
            / -> M:app_1
        }
        host b.example.com:443 {
            / -> M:app_2
        }
        """
    )
    assert pinned.route("q.example.com", "/")[0] == "{h1}.example.com:80 /"
    assert (
        pinned.route("q.example.com", "/", **{"wsgi.url_scheme": "https"})[0] == "*.example.com /"
    )
    assert (
        pinned.route("b.example.com", "/", **{"wsgi.url_scheme": "https"})[0]
        == "b.example.com:443 /"
    )
    assert pinned.route("b.example.com", "/")[0] == "{h1}.example.com:80 /"
    # An exact host with port 80 beats the same host without a port on plain http.
    exact = Pinned(
        """
        host a.example.com:80 {
            / -> M:app_0
        }
        host a.example.com, b.example.com:443 {
            / -> M:app_1
        }
        """
    )
    assert exact.route("a.example.com", "/")[0] == "a.example.com:80 /"
    assert exact.route("a.example.com:80", "/")[0] == "a.example.com:80 /"
    assert exact.route("a.example.com", "/", **{"wsgi.url_scheme": "https"})[0] == "a.example.com /"
    assert exact.route("a.example.com:8080", "/")[0] == "a.example.com /"
    assert (
        exact.route("b.example.com", "/", **{"wsgi.url_scheme": "https"})[0]
        == "b.example.com:443 /"
    )
    assert exact.route("b.example.com", "/")[0] is None
    # No Host header: SERVER_NAME and SERVER_PORT.
    assert (
        pinned.route(None, "/", SERVER_NAME="Q.example.com", SERVER_PORT="8080")[0]
        == "*.example.com /"
    )
    assert (
        pinned.route(None, "/", SERVER_NAME="q.example.com", SERVER_PORT="80")[0]
        == "{h1}.example.com:80 /"
    )
    assert (
        pinned.route("", "/", SERVER_NAME="b.example.com", SERVER_PORT="443")[0]
        == "b.example.com:443 /"
    )


@pytest.mark.parametrize(
    "host",
    [
        "a b.example.com",
        "a..example.com",
        "é.example.com",
        "a.example.com:0",
        "a.example.com:65536",
        "a.example.com:",
        "[::1",
        "a.example.com..",
        ".example.com",
    ],
)
def test_invalid_hosts_get_400_and_reach_no_factory(host):
    pinned = Pinned(FALLBACK)
    with fake_targets(pinned.decide) as calls:
        module = build_module(pinned.text)
        checked = check_request(
            module, pinned.table, environ_for(host, "/a/z/b"), pinned.decide, calls
        )
    assert checked.status == 400 and checked.outcome.status == 400
    assert calls.factories == [] and calls.apps == []


@pytest.mark.parametrize("port", ["0", "65536", "x", "-1", " 80", "²", "①"])
def test_invalid_server_port_gets_400(port):
    # SPEC §2: "a port that is not 1-65535 gets 400 Bad Request" - also the
    # SERVER_PORT used when there is no Host header. "²" and "①" pass
    # str.isdigit() but are not ports.
    pinned = Pinned(FALLBACK)
    environ = environ_for(None, "/a/z/b", SERVER_NAME="t.example.com", SERVER_PORT=port)
    with fake_targets(pinned.decide) as calls:
        module = build_module(pinned.text)
        status, _, _ = call(module.application, copy.deepcopy(environ))
        assert calls.factories == [] and calls.apps == []
    assert status == 400
    assert dispatch(pinned.table, environ).status == 400


def test_a_host_without_a_port_follows_the_scheme_on_every_request():
    # A pattern (no exact host) names port 80: over one module, the same Host
    # header means port 80 on http and 443 on https, whatever came before.
    pinned = Pinned(
        """
        host {h1}.example.com:80 {
            / -> M:app_0
        }
        host *.example.com {
            / -> M:app_1
        }
        """
    )
    with fake_targets(pinned.decide) as calls:
        module = build_module(pinned.text)
        for scheme, route in [
            ("https", "*.example.com /"),
            ("http", "{h1}.example.com:80 /"),
            ("https", "*.example.com /"),
        ]:
            environ = environ_for("x.example.com", "/", **{"wsgi.url_scheme": scheme})
            checked = check_request(module, pinned.table, environ, pinned.decide, calls)
            assert checked.seen.get("dispatchc.route") == route, scheme


def test_existing_routing_args_are_kept_and_updated():
    pinned = Pinned(
        """
        host {h1}.example.com {
            /u/{user} -> M:app_0
        }
        """
    )
    route, seen, _ = pinned.route(
        "t.example.com", "/u/bob/x", **{"wsgiorg.routing_args": (("pos",), {"h1": "old", "k": "v"})}
    )
    assert route == "{h1}.example.com /u/{user}"
    assert seen["wsgiorg.routing_args"] == (("pos",), {"h1": "t", "k": "v", "user": "bob"})
