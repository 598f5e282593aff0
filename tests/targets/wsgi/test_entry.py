"""``dispatchc.targets.wsgi.runtime.entry``: reading the host of a WSGI
request and choosing its host entry, with the memo of raw Host headers.

The tables a generated module defines are patched into the runtime modules.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.plan.matcher import Host, check_host
from dispatchc.targets.python.runtime import hosts
from dispatchc.targets.wsgi.runtime import entry

from ...helpers import call, environ
from ...strategies import request_hosts, requests


@settings(max_examples=1000, deadline=None)
@given(requests())
def test_host_of_a_request_agrees_with_the_matcher(env):
    found = check_host(env)
    assert entry._dc_host(env) == ((found.name, found.port) if isinstance(found, Host) else None)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"HTTP_HOST": "Example.COM."}, ("example.com", 80)),
        ({"HTTP_HOST": "example.com", "wsgi.url_scheme": "https"}, ("example.com", 443)),
        ({"HTTP_HOST": "bücher.example"}, None),  # non-ASCII: 400
        ({"HTTP_HOST": None, "SERVER_NAME": "A.test", "SERVER_PORT": "8080"}, ("a.test", 8080)),
        ({"HTTP_HOST": "", "SERVER_NAME": "::1", "SERVER_PORT": "80"}, ("[::1]", 80)),
        ({"HTTP_HOST": None, "SERVER_NAME": "a.test", "SERVER_PORT": "²"}, None),
        ({"HTTP_HOST": None, "SERVER_NAME": "é.test"}, None),
        ({"HTTP_HOST": None, "SERVER_NAME": None, "SERVER_PORT": None}, None),
    ],
)
def test_host_of_a_request_examples(extra, expected):
    env = environ(**extra)
    assert entry._dc_host(env) == expected


EXACT = ("walk", "exact", {}, 0)
PATTERN = ("walk", "pattern", {}, 0)
DEFAULT = ("walk", "default", {}, 0)


def patch_tables(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``a.test`` exact, ``p.test:8080`` exact with a port, ``{x}.test`` a
    pattern, a default block; the memo holds at most 4 headers beyond the
    exact hosts."""
    fast = {"a.test": EXACT}
    monkeypatch.setattr(hosts, "_DC_EXACT", fast)
    monkeypatch.setattr(hosts, "_DC_EXACT_PORT", {("p.test", 8080): EXACT})
    monkeypatch.setattr(hosts, "_DC_PATTERNS", ((1, {"test": {(1, None): (PATTERN, ("x",))}}),))
    monkeypatch.setattr(hosts, "_DC_DEFAULT", DEFAULT)
    monkeypatch.setattr(entry, "_DC_FAST", fast)
    monkeypatch.setattr(entry, "_DC_MEMO_SIZE", 4)
    monkeypatch.setattr(entry, "_dc_hosts", dict(fast))
    return fast


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return patch_tables(monkeypatch)


def test_select_remembers_headers_and_never_answers_stale(tables):
    first = entry._dc_select(environ("B.test"))
    assert first[1] == "pattern" and first[2] == {"x": "b"}
    assert entry._dc_hosts["B.test"] is first
    assert entry._dc_select(environ("nothing.example"))[1] == "default"
    assert entry._dc_select(environ("a b"))[1] is entry._DC_REJECT[1]
    assert entry._dc_hosts["a b"] is entry._DC_REJECT


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.one_of(request_hosts(), st.sampled_from(["a.test", "b.test", "B.test."])), max_size=60
    )
)
def test_the_memo_stays_bounded_and_keeps_the_exact_hosts(headers):
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast = patch_tables(monkeypatch)
        answers: dict[str, Any] = {}
        for header in headers:
            got = entry._dc_hosts.get(header) or entry._dc_select(environ(header))
            # The same header always gets the same answer, memo or not.
            assert answers.setdefault(header, got) == got
            assert len(entry._dc_hosts) <= len(fast) + 4
            assert entry._dc_hosts["a.test"] is EXACT


def test_long_headers_are_not_remembered(tables):
    long = "a." * 130 + "test"  # 264 characters: longer than any valid Host
    assert entry._dc_select(environ(long))[1] is entry._DC_REJECT[1]
    assert long not in entry._dc_hosts
    valid = ("a" * 63 + ".") * 3 + "b" * 56 + ".test:65535"  # 259 characters
    assert entry._dc_select(environ(valid))[1] == "default"
    assert valid in entry._dc_hosts


def test_by_port_remembers_nothing_and_reads_the_scheme(tables):
    # Port 80: not the exact host with port 8080; the pattern {x}.test.
    assert entry._dc_select_by_port(environ("p.test"))[1] == "pattern"
    assert entry._dc_select_by_port(environ("p.test:8080"))[1] == "exact"
    assert entry._dc_select_by_port(environ("a.test", **{"wsgi.url_scheme": "https"}))[1] == "exact"
    assert entry._dc_select_by_port(environ("bad host")) is entry._DC_REJECT
    assert entry._dc_hosts == {"a.test": EXACT}


def test_application_answers_400_and_404_itself(tables, monkeypatch):
    monkeypatch.setattr(entry, "_dc_select", lambda env: entry._DC_REJECT)
    assert call(entry.application, environ("bad host")).status == 400
    monkeypatch.setattr(entry, "_dc_select", lambda env: entry._DC_NOWHERE)
    response = call(entry.application, environ("nowhere.test"))
    assert response.status == 404 and response.body == b"404 Not Found\n"
