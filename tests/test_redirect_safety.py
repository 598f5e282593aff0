"""Redirects cannot be turned against the site (SPEC §1).

A redirect never sends a client to a host that the routing file does not
write:

- lint and build refuse (E311) every URL in which a path capture or
  ``{path}`` stands before the end of the host, and any capture in the
  first segment of a URL that has no scheme; they accept the rest;
- for every accepted form, whatever the request puts in the path, the
  captures and the query (slashes, backslashes, ``%5C``, ``@``, ``:``,
  ``?``, ``#``, non-ASCII), the ``Location`` the generated module sends
  names a host that the file writes, read both by ``urllib.parse.urlsplit``
  and by a browser's rules (WHATWG: ``\\`` is ``/`` in http(s) URLs, so
  ``/\\evil`` names the host ``evil``), and a Location relative to the
  host never starts with ``//``;
- ``dispatchc explain`` prints the Location that the module sends.
"""

from __future__ import annotations

import functools
import re
import textwrap
import types
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dispatchc.cli import main
from dispatchc.compiler import analyse, load_table
from dispatchc.ir import RouteTable
from dispatchc.plan import build as build_plan
from dispatchc.tools.explain import explain_environ

from .helpers import build_module, call

# -- lint: which forms are refused --------------------------------------------

#: (routing file, the text the error points at). ``{sub}`` is a host capture
#: in every host block here, anything else a path capture.
REFUSED = [
    # A path capture in the host of an absolute URL.
    ('/old/{x} -> redirect 301 "https://{x}"', "{x}"),
    ('/old/{x} -> redirect 301 "https://{x}/a"', "{x}"),
    ('/old/{x} -> redirect 301 "https://example.com{x}"', "{x}"),
    ('/old/{x} -> redirect 301 "https://example.com{x}/a"', "{x}"),
    ('/old/{x} -> redirect 301 "https://{x}.example.com/"', "{x}"),
    ('/old/{x} -> redirect 301 "https://{x}@example.com/"', "{x}"),
    ('/old/{x} -> redirect 301 "https://example.com:{x}/"', "{x}"),
    ('/old/{x} -> redirect 301 "https:{x}"', "{x}"),
    ('/old/{x} -> redirect 301 "https:/{x}"', "{x}"),
    ('/old/{x} -> redirect 301 "mailto:{x}"', "{x}"),
    ('host {sub}.example.com {\n    /{x} -> redirect 301 "https://{sub}.{x}/"\n}', "{x}"),
    # {path} where no host is written before it.
    ('/old -> redirect 301 "https://{path}"', "{path}"),
    ('/old -> redirect 301 "https:{path}"', "{path}"),
    ('/old -> redirect 301 "https:///{path}"', "{path}"),
    # A capture in the first segment of a URL without a scheme.
    ('/old/{x} -> redirect 301 "{x}/a"', "{x}"),
    ('/old/{x} -> redirect 301 "{x}{path}"', "{x}"),
    ('/old/{x} -> redirect 301 "{x}"', "{x}"),
    ('/old/{x} -> redirect 301 "http{x}"', "{x}"),
    ('/old/{x} -> redirect 301 "page{x}"', "{x}"),
    ('host {sub}.example.com {\n    / -> redirect 301 "{sub}/a"\n}', "{sub}"),
    ('host {sub}.example.com {\n    / -> redirect 301 "{sub}:8080/a"\n}', "{sub}"),
    # Through a `use`: checked for the route that uses it.
    ('use r = redirect 301 "https://{x}/"\n/old/{x} -> r', "{x}"),
]

ACCEPTED = [
    '/old -> redirect 301 "/{path}"',
    '/old -> redirect 301 "{path}"',
    '/old -> redirect 301 "/x/{path}"',
    '/old -> redirect 301 "/a{path}"',
    '/old/{x} -> redirect 301 "/{x}"',
    '/old/{x} -> redirect 301 "/{x}{path}?k=v#top"',
    '/old -> redirect 301 "{path}?from=old"',
    '/old -> redirect 301 "https://example.com{path}"',
    '/old -> redirect 301 "https://example.com:8443{path}"',
    '/old/{x} -> redirect 301 "https://example.com/{x}{path}"',
    '/old/{x} -> redirect 301 "https://example.com?next={x}"',
    '/old/{x} -> redirect 301 "https://example.com#{x}"',
    '/old/{x} -> redirect 301 "?next={x}"',
    '/old/{x} -> redirect 301 "#{x}"',
    '/old/{x} -> redirect 301 "./{x}"',
    '/old -> redirect 301 "page{path}"',
    '/old -> redirect 301 "{{x}}/a"',
    'host {sub}.example.com {\n    / -> redirect 301 "https://{sub}.example.org{path}"\n}',
    'host {sub}.example.com {\n    / -> redirect 301 "https://x-{sub}.example.org:8080/"\n}',
    'host {sub}.example.com {\n    / -> redirect 301 "https://{sub}{path}"\n}',
    'host {sub}.example.com {\n    /{x} -> redirect 301 "https://{sub}.example.org/{x}"\n}',
    # One `use`: a host capture in this block.
    'use r = redirect 301 "https://{sub}.example.org/"\nhost {sub}.example.com {\n    / -> r\n}',
]


def lint(text: str):
    return analyse("routes.disp", textwrap.dedent(text).encode("utf-8") + b"\n")


@pytest.mark.parametrize(("text", "at"), REFUSED, ids=[t for t, _ in REFUSED])
def test_a_capture_that_can_set_the_host_is_e311(text, at):
    result = lint(text)
    errors = [d for d in result.diagnostics if d.is_error]
    assert [d.code for d in errors] == ["E311"], errors
    (d,) = errors
    line = text.split("\n")[d.span.line - 1]
    # The caret is under the capture, and the message names it.
    assert line[d.span.column - 1 : d.span.end_column - 1] == at
    assert f"'{at}'" in d.message
    assert d.help


@pytest.mark.parametrize("text", ACCEPTED)
def test_a_url_whose_host_the_file_writes_is_accepted(text):
    result = lint(text)
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]


def test_a_use_is_checked_in_each_route_that_uses_it():
    # {x} is a host capture in the first block and a path capture in the
    # default block: only the second use is refused, once.
    text = (
        'use r = redirect 301 "https://{x}.example.org/"\n'
        "host {x}.example.com {\n"
        "    / -> r\n"
        "}\n"
        "/a/{x} -> r\n"
        "/b/{x} -> r\n"
    )
    errors = [d for d in lint(text).diagnostics if d.is_error]
    assert [(d.code, d.span.line, d.span.column) for d in errors] == [("E311", 1, 31)]


def test_a_literal_double_slash_is_e307():
    # It would name another host without a scheme, and a URL that starts
    # with "/" never leaves the request's host.
    errors = [d for d in lint('/old -> redirect 301 "//cdn.example/x"').diagnostics if d.is_error]
    assert [(d.code, d.span.column) for d in errors] == [("E307", 23)]


def test_build_writes_nothing_and_lint_exits_1(tmp_path, capsys):
    routes = tmp_path / "routes.disp"
    routes.write_text('/old/{x} -> redirect 301 "https://example.com{x}"\n', encoding="utf-8")
    assert main(["build", str(routes)]) == 1
    assert not (tmp_path / "routes.py").exists()
    assert main(["lint", str(routes)]) == 1
    err = capsys.readouterr().err
    assert "error[E311]: path capture '{x}' can set the host of the redirect" in err


# -- run time: every accepted form, every request ------------------------------

#: (route, URL, the host the Location may name: None for the request's own
#: host, else a template in which {sub} is the request's host label).
FORMS = [
    ("/old", "/{path}", None),
    ("/old", "{path}", None),
    ("/old", "/x/{path}", None),
    ("/old", "/a{path}", None),
    ("/old", "{path}?from=old", None),
    ("/old", "/{path}#top", None),
    ("/", "{path}", None),
    ("/", "/{path}", None),
    ("/old/{c}", "/{c}", None),
    ("/old/{c}", "/{c}{path}?k=v", None),
    ("/old/{c}", "?next={c}", None),
    ("/old/{c}", "./{c}", None),
    ("/old", "page{path}", None),
    ("/old", "https://example.com{path}", "example.com"),
    ("/", "https://example.com{path}", "example.com"),
    ("/old", "https://example.com:8443/a?b=1{path}", "example.com"),
    ("/old/{c}", "https://example.com/{c}{path}", "example.com"),
    ("/old/{c}", "https://example.com?next={c}#{c}", "example.com"),
    ("/old", "https://{sub}.example.org{path}", "{sub}.example.org"),
    ("/old/{c}", "https://{sub}.example.org/{c}?q={c}", "{sub}.example.org"),
    ("/old/{c}", "http://x-{sub}.example.org:8080/{c}/{path}", "x-{sub}.example.org"),
    ("/old", "https://{sub}{path}", "{sub}"),
]

SITE = "site.example"  # requests are for {label}.site.example


@functools.cache
def compiled(route: str, url: str) -> tuple[types.ModuleType, RouteTable]:
    text = f'host {{sub}}.{SITE} {{\n    {route} -> redirect 302 "{url}"\n}}\n'
    return build_module(text), load_table("routes.disp", text.encode("utf-8"))


#: Text a request can put in PATH_INFO (the server's decoding: latin-1 of
#: the request's bytes, so "é" arrives as "Ã©").
PATH_PIECES = [
    "/", "//", "///", "\\", "/\\", "\\\\", "%5C", "%5c", "%2F", "@", ":", ".", "..",
    "a", "evil.example", "evil.example:80", "@evil.example", "?", "#", "\u00ff", "http:",
    "https:", "javascript:", "\t", "%00", " ", "é".encode().decode("latin-1"),
]  # fmt: skip
QUERIES = ["", "a=1", "next=//evil.example", "x=\\evil", "%5C", "@evil.example", "a=1#frag", "é"]
LABELS = ["a", "www", "x-1", "_", "0", "evil", "2130706433", "xn--bcher-kva"]

path_text = st.lists(st.sampled_from(PATH_PIECES), max_size=6).map("".join)
segment_text = path_text.map(lambda s: s.replace("/", "")).filter(bool)


def response(module, environ):
    answer = call(module.application, environ)
    return answer.status_line, dict(answer.headers), answer.body


SPECIAL = ("http", "https", "ws", "wss", "ftp", "file")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _authority_host(text: str) -> str:
    """The host of an authority that runs to the first '/', '\\', '?' or '#'."""
    authority = re.split(r"[/\\?#]", text, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    host = host[: host.index("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return unquote(host).lower()


def browser_host(location: str, base_scheme: str, base_host: str) -> str:
    """The host a browser goes to for ``Location: location`` received from
    ``base_scheme://base_host/...``: the WHATWG URL parser's choice of host,
    for http(s) pages (backslashes are slashes, tabs and newlines are
    dropped, any run of slashes after an http scheme is skipped)."""
    text = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21))))
    scheme = _SCHEME.match(text)
    if scheme is None:
        # Relative: "//host" and "/\\host" name a host, anything else is this one.
        if text[:1] in ("/", "\\") and text[1:2] in ("/", "\\"):
            return _authority_host(text.lstrip("/\\"))
        return base_host
    name = scheme.group()[:-1].lower()
    rest = text[scheme.end() :]
    if name not in SPECIAL:
        return _authority_host(rest[2:]) if rest.startswith("//") else ""
    two_slashes = rest[:1] in ("/", "\\") and rest[1:2] in ("/", "\\")
    if name == base_scheme and not two_slashes:
        return base_host  # "https:path" from an https page is relative
    return _authority_host(rest.lstrip("/\\"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    form=st.sampled_from(FORMS),
    label=st.sampled_from(LABELS),
    capture=segment_text,
    rest=path_text,
    query=st.sampled_from(QUERIES),
    scheme=st.sampled_from(["http", "https"]),
)
@example(form=FORMS[0], label="a", capture="c", rest="//evil.example/x", query="", scheme="https")
@example(form=FORMS[1], label="a", capture="c", rest="/\\evil.example", query="", scheme="http")
@example(form=FORMS[6], label="a", capture="c", rest="https:", query="", scheme="https")
@example(form=FORMS[14], label="a", capture="c", rest="@evil.example", query="", scheme="https")
def test_location_never_names_a_host_the_file_does_not_write(
    form, label, capture, rest, query, scheme
):
    route, url, allowed = form
    module, table = compiled(route, url)
    host = f"{label}.{SITE}"
    if route == "/":
        # The whole PATH_INFO; not even a leading "/" is taken for granted.
        path_info = rest
    else:
        path_info = route.replace("{c}", capture) + ("/" + rest if rest else "")
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "HTTP_HOST": host,
        "SERVER_NAME": host,
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "wsgi.url_scheme": scheme,
    }
    explained = explain_environ(build_plan(table), dict(environ))
    status, headers, _ = response(module, environ)
    assert status.startswith("302")
    location = headers["Location"]
    assert location.isprintable() and location.isascii()

    want = host if allowed is None else allowed.format(sub=label)
    assert browser_host(location, scheme, host) == want, location
    split = urlsplit(location)
    if allowed is None:
        assert split.scheme == "" and split.netloc == "", location
        # Relative to the host: a path never starts with "//" or "/\".
        assert not location.startswith(("//", "/\\")), location
    else:
        assert split.hostname == want, location

    # explain prints what the module sends.
    assert explained.location == location


def test_open_redirect_of_the_issue_is_closed():
    module, _ = compiled("/old", "/{path}")
    for path, want in [
        ("/old//evil.example/x", "/evil.example/x"),
        ("/old///evil.example", "/evil.example"),
        ("/old/\\evil.example", "/%5Cevil.example"),
        ("/old/x", "/x"),
        ("/old", "/"),
    ]:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": f"a.{SITE}"}
        status, headers, body = response(module, environ)
        assert (status, headers["Location"]) == ("302 Found", want)
        assert body == f"Redirecting to {want}\n".encode()


def test_path_info_without_a_leading_slash_still_ends_the_host():
    # Not what a PEP 3333 server sends, but {path} is made to start with "/".
    module, _ = compiled("/", "https://example.com{path}")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "@evil.example", "HTTP_HOST": f"a.{SITE}"}
    _, headers, _ = response(module, environ)
    assert headers["Location"] == "https://example.com/@evil.example"


# -- dispatchc explain ----------------------------------------------------------


def test_explain_prints_the_collapsed_location(tmp_path, capsys):
    routes = tmp_path / "routes.disp"
    routes.write_text('/old -> redirect 301 "/{path}"\n/ -> status 404\n', encoding="utf-8")
    assert main(["explain", str(routes), "http://example.com/old//evil.example/x?q=1"]) == 0
    (responds,) = [line for line in capsys.readouterr().out.splitlines() if "Location" in line]
    assert responds == "Responds  301 Moved Permanently  Location: /evil.example/x?q=1"


def test_explain_refuses_a_file_with_e311(tmp_path, capsys):
    routes = tmp_path / "routes.disp"
    routes.write_text('/old/{x} -> redirect 301 "{x}/a"\n', encoding="utf-8")
    assert main(["explain", str(routes), "http://example.com/old/x"]) == 1
    assert "error[E311]" in capsys.readouterr().err
