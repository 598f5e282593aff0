"""``dispatchc.targets.wsgi.runtime.responses``: what dispatchc answers
itself (``status CODE``, ``redirect CODE "URL"``, 400 and 404)."""

from __future__ import annotations

import pytest

from dispatchc.ir import status_line
from dispatchc.targets.wsgi.runtime.responses import (
    _dc_bad_request,
    _dc_not_found,
    _dc_redirect,
    _DcStatus,
)

from ...helpers import call, environ


@pytest.mark.parametrize("code", [200, 299, 404, 410, 418, 503, 599])
def test_status_is_plain_text_with_its_length(code):
    line = status_line(code)
    response = call(_DcStatus(line), environ())
    assert response.status_line == line
    assert response.body == line.encode("ascii") + b"\n"
    assert response.headers == [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(response.body))),
    ]


@pytest.mark.parametrize("line", ["204 No Content", "304 Not Modified"])
def test_204_and_304_have_no_body_nor_content_headers(line):
    response = call(_DcStatus(line), environ())
    assert (response.status_line, response.headers, response.body) == (line, [], b"")


def test_head_gets_the_headers_without_the_body():
    head = call(_DcStatus("410 Gone"), environ(REQUEST_METHOD="HEAD"))
    assert head.body == b"" and head.header("Content-Length") == "9"
    redirect = call(_DcStatus("301 Moved Permanently", "/x"), environ(REQUEST_METHOD="HEAD"))
    assert redirect.body == b"" and redirect.header("Location") == "/x"


def test_each_response_gets_its_own_header_list():
    status = _DcStatus("404 Not Found")
    first = call(status, environ())
    first.headers.append(("X-Mutated", "1"))
    assert call(status, environ()).headers == [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", "14"),
    ]


def test_bad_request_and_not_found():
    assert call(_dc_bad_request, environ()).status_line == "400 Bad Request"
    assert call(_dc_not_found, environ()).body == b"404 Not Found\n"


@pytest.mark.parametrize(
    ("location", "query", "sent"),
    [
        ("https://h.test/a", "", "https://h.test/a"),
        ("https://h.test/a", "x=1", "https://h.test/a?x=1"),
        ("/a?k=v", "x=1", "/a?k=v&x=1"),
        ("/a#f", "x=1 2", "/a?x=1%202#f"),
    ],
)
def test_redirect_sends_the_location_with_the_query(location, query, sent):
    for response in (
        call(_DcStatus("302 Found", location), environ(QUERY_STRING=query)),
        call(
            lambda e, s: _dc_redirect(e, s, "302 Found", location),
            environ(QUERY_STRING=query),
        ),
    ):
        assert response.status_line == "302 Found"
        body = f"Redirecting to {sent}\n".encode("latin-1")
        assert response.headers == [
            ("Location", sent),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        assert response.body == body


def test_redirect_without_a_query_string_key():
    response = call(_DcStatus("308 Permanent Redirect", "/b"), environ(QUERY_STRING=None))
    assert response.header("Location") == "/b"
