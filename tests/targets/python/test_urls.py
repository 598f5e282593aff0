"""``dispatchc.targets.python.runtime.urls``: building a redirect's Location
(SPEC §1) from captured text, PATH_INFO and the query string."""

from __future__ import annotations

import string
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchc.targets.python.runtime.urls import (
    _dc_quote,
    _dc_quote_path,
    _dc_relative,
    _dc_with_query,
)

#: What a URL may hold unencoded (RFC 3986: unreserved, sub-delims, ':' '@'
#: and '/' '?' in a path or query), and the percent sign of an escape.
URL_CHARS = set(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?%")

#: PATH_INFO text: PEP 3333 strings are bytes read as latin-1.
latin1 = st.text(st.characters(max_codepoint=255), max_size=20)


@settings(max_examples=500, deadline=None)
@given(latin1)
def test_quote_encodes_every_character_a_url_cannot_hold(text):
    quoted = _dc_quote(text, "")
    # A capture stays one piece of a path: no "/", "?", "#", "&", "=", "+"
    # or ";" of its own.
    assert set(quoted) <= set(string.ascii_letters + string.digits + "-._~!$'()*,:@%"), quoted
    assert unquote(quoted, encoding="latin-1") == text


def test_quote_examples():
    assert _dc_quote("a b/c?d#e", "") == "a%20b%2Fc%3Fd%23e"
    assert _dc_quote("a/b", "/") == "a/b"
    assert _dc_quote("caf\u00c3\u00a9", "") == "caf%C3%A9"  # UTF-8 bytes as PATH_INFO holds them
    assert _dc_quote("~user:x@y!$'()*,", "") == "~user:x@y!$'()*,"
    assert _dc_quote("%41", "") == "%2541"  # a percent sign is data, not an escape
    assert _dc_quote("\x00\r\n", "") == "%00%0D%0A"


@settings(max_examples=300, deadline=None)
@given(latin1)
def test_quote_path_keeps_slashes_and_starts_with_one(path_info):
    quoted = _dc_quote_path(path_info)
    assert set(quoted) <= URL_CHARS - {"?"}
    if not path_info:
        assert quoted == ""
    else:
        assert quoted.startswith("/")
        restored = unquote(quoted, encoding="latin-1")
        assert restored == (path_info if path_info.startswith("/") else "/" + path_info)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("/\\ab?#%:."), max_size=12))
def test_relative_never_names_another_host(location):
    safe = _dc_relative(location)
    assert not safe.startswith(("//", "/\\"))
    if location.startswith(("//", "/\\")):
        # The leading run of slashes and backslashes becomes one "/".
        assert safe == "/" + location.lstrip("/\\")
    else:
        assert safe == location


@pytest.mark.parametrize(
    ("location", "query", "expected"),
    [
        ("/a", "x=1", "/a?x=1"),
        ("/a?k=v", "x=1", "/a?k=v&x=1"),
        ("/a#frag", "x=1", "/a?x=1#frag"),
        ("/a?k=v#frag?x", "x=1", "/a?k=v&x=1#frag?x"),
        ("https://h.test/", "a=b&c=d", "https://h.test/?a=b&c=d"),
        ("/a", "x=%41&y=/?:@", "/a?x=%41&y=/?:@"),
        ("/a", "x=1 2#3", "/a?x=1%202%233"),
        ("/a", "q=\r\nSet-Cookie:x", "/a?q=%0D%0ASet-Cookie:x"),
        ("/a", "q=\u00e9", "/a?q=%E9"),
    ],
)
def test_with_query(location, query, expected):
    assert _dc_with_query(location, query) == expected


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["/a", "/a?k=v", "/a#f", "https://h.test/p?x#y"]), latin1)
def test_with_query_never_gives_a_control_character_or_a_second_fragment(location, query):
    out = _dc_with_query(location, query)
    assert out.isprintable() and " " not in out
    assert out.count("#") == location.count("#")
    base = out.partition("#")[0]
    assert base.startswith(location.partition("#")[0])
