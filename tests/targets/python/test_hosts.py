"""``dispatchc.targets.python.runtime.hosts`` imported as an ordinary module.

Host normalisation (``_dc_split_host``, ``_dc_normal_host``) against the
reference matcher's ``check_host`` on Hypothesis hosts, and the pattern
lookup (``_dc_match_patterns``, ``_dc_lookup``, ``_dc_lookup_by_port``)
with its tables patched in, against the matcher's choice (SPEC §2).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.front.patterns import parse_host
from dispatchc.ir import HostPattern
from dispatchc.plan.matcher import Host, check_host, host_matches
from dispatchc.targets.python.runtime import hosts

from ...strategies import host_specs, request_hosts

# -- normalisation -----------------------------------------------------------------


def normalise(header: str, scheme: str = "http") -> tuple[str, int] | None:
    """What a target does with an ASCII Host header: split, then normalise."""
    found = hosts._dc_split_host(header.lower())
    if found is None:
        return None
    name, port = found
    return hosts._dc_normal_host(name, port, 443 if scheme == "https" else 80)


def reference(header: str, scheme: str = "http") -> tuple[str, int] | None:
    found = check_host({"HTTP_HOST": header, "wsgi.url_scheme": scheme})
    return (found.name, found.port) if isinstance(found, Host) else None


ascii_noise = st.text(st.sampled_from("abcXYZ019-_.:[]%@ /\\\t\x00\x7f"), min_size=1, max_size=24)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(request_hosts(), ascii_noise), st.sampled_from(["http", "https"]))
def test_normalisation_agrees_with_the_matcher(header, scheme):
    if not header or not header.isascii():
        return  # rejected before splitting (the protocol's reader: SPEC §2, 400)
    assert normalise(header, scheme) == reference(header, scheme), header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Example.COM.", ("example.com", 80)),
        ("example.com:8080", ("example.com", 8080)),
        ("example.com:08080", ("example.com", 8080)),
        ("[::1]", ("[::1]", 80)),
        ("[::1]:8443", ("[::1]", 8443)),
        ("[::1]x", None),
        ("[::1", None),
        ("[fe80::1%eth0]", None),
        ("a..b", None),
        (".a", None),
        ("a.b..", None),
        ("a b", None),
        ("a" * 254, None),
        ("a" * 253, ("a" * 253, 80)),
        ("a:", None),
        ("a:0", None),
        ("a:65536", None),
        ("a:65535", ("a", 65535)),
        ("a:1:2", None),
        ("a:²", None),
    ],
)
def test_normalisation_examples(header, expected):
    assert normalise(header) == expected
    assert reference(header) == expected


def test_split_host_keeps_ipv6_brackets():
    assert hosts._dc_split_host("[::1]:80") == ("[::1]", "80")
    assert hosts._dc_split_host("[::1]") == ("[::1]", None)
    assert hosts._dc_split_host("[::1]80") is None
    assert hosts._dc_split_host("a.b:c") == ("a.b", "c")
    assert hosts._dc_split_host("a.b") == ("a.b", None)


# -- pattern lookup with patched tables ------------------------------------------------


def tables(patterns: list[HostPattern]) -> dict[str, Any]:
    """The tables a generated module defines (runtime/tables.py says their
    shape), each entry a 4-tuple naming its pattern: (text, None, captures
    or None, 0)."""
    exact: dict[str, Any] = {}
    exact_port: dict[tuple[str, int], Any] = {}
    by_size: dict[int, dict[str, dict[tuple[int, int | None], Any]]] = {}
    for p in patterns:
        entry = (p.text, None, None, 0)
        if p.kind == "exact":
            if p.port is None:
                exact[p.host] = entry
            else:
                exact_port[(p.host, p.port)] = entry
            continue
        key = (0 if p.kind == "wildcard" else len(p.captures), p.port)
        names = p.captures or None
        by_size.setdefault(len(p.suffix), {}).setdefault(p.host, {})[key] = (entry, names)
    return {
        "_DC_EXACT": exact,
        "_DC_EXACT_PORT": exact_port,
        "_DC_PATTERNS": tuple((size, by_size[size]) for size in sorted(by_size, reverse=True)),
        "_DC_DEFAULT": ("default", None, None, 0),
    }


def expected(patterns: list[HostPattern], host: Host) -> tuple[str, dict[str, str] | None]:
    """SPEC §2 as the matcher reads it: the first pattern in precedence
    order that matches, with its captures."""
    for pattern in sorted(patterns, key=lambda p: p.weight):
        captures = host_matches(pattern, host)
        if captures is not None:
            return pattern.text, captures or None
    return "default", None


@settings(max_examples=400, deadline=None)
@given(
    st.lists(host_specs(), max_size=8, unique_by=lambda h: h.key),
    st.lists(st.tuples(request_hosts(), st.sampled_from(["http", "https"])), max_size=10),
)
def test_lookup_agrees_with_the_matcher(specs, requests):
    patterns = [parse_host(h.text) for h in specs]
    ported = any(p.kind == "exact" and p.port is not None for p in patterns)
    lookup = hosts._dc_lookup_by_port if ported else hosts._dc_lookup
    saved = {name: getattr(hosts, name) for name in tables([])}
    try:
        for name, value in tables(patterns).items():
            setattr(hosts, name, value)
        for header, scheme in requests:
            found = check_host({"HTTP_HOST": header, "wsgi.url_scheme": scheme})
            if not isinstance(found, Host):
                continue
            entry = lookup(found.name, found.port)
            assert (entry[0], entry[2]) == expected(patterns, found), (header, scheme)
            if not ported:
                # Without a ported exact host, both lookups agree.
                assert hosts._dc_lookup_by_port(found.name, found.port) == entry
    finally:
        for name, value in saved.items():
            setattr(hosts, name, value)


def test_lookup_examples(monkeypatch):
    patterns = [
        parse_host(t)
        for t in [
            "a.example.com",
            "a.example.com:8080",
            "{x}.example.com",
            "{x}.{y}.example.com:8080",
            "*.example.com",
            "*.x.example.com",
            "{x}.example.com:8080",
        ]
    ]
    for name, value in tables(patterns).items():
        monkeypatch.setattr(hosts, name, value)

    def pick(host: str, port: int = 80) -> tuple[str, dict[str, str] | None]:
        entry = hosts._dc_lookup_by_port(host, port)
        return entry[0], entry[2]

    assert pick("a.example.com") == ("a.example.com", None)
    assert pick("a.example.com", 8080) == ("a.example.com:8080", None)
    assert pick("b.example.com") == ("{x}.example.com", {"x": "b"})
    assert pick("b.example.com", 8080) == ("{x}.example.com:8080", {"x": "b"})
    assert pick("b.c.example.com", 8080) == ("{x}.{y}.example.com:8080", {"x": "b", "y": "c"})
    assert pick("b.c.example.com") == ("*.example.com", None)
    assert pick("b.x.example.com", 8080) == ("*.x.example.com", None)
    # Never a plain suffix test.
    assert pick("evilexample.com") == ("default", None)
    assert pick("example.com") == ("default", None)


def test_a_capture_beats_a_ported_wildcard(monkeypatch):
    # SPEC §2: a capture pattern beats "*" whatever the ports; only then
    # does a port decide.
    patterns = [parse_host(t) for t in ["{x}.example.com", "*.example.com:8080", "*.example.com"]]
    for name, value in tables(patterns).items():
        monkeypatch.setattr(hosts, name, value)
    assert hosts._dc_lookup("b.example.com", 8080)[0] == "{x}.example.com"
    assert hosts._dc_lookup("b.c.example.com", 8080)[0] == "*.example.com:8080"
    assert hosts._dc_lookup("b.c.example.com", 80)[0] == "*.example.com"
