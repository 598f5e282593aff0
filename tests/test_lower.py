"""Compile-time diagnostics (SPEC §1-§3, §7): code, position and message.

One minimal bad file per error code that the compiler emits, then several
errors at once, syntax errors in words, host-pattern precedence and
ambiguity, duplicate routes, and order-independence of the IR.
"""

from __future__ import annotations

import textwrap

import pytest

from dispatchc.compiler import analyse, load_table
from dispatchc.diagnostics import CODES
from dispatchc.errors import DispatchError
from dispatchc.ir import target_text

from .conftest import build_module, compile_text


def diags(text: str | bytes) -> list[tuple[str, int, int, str]]:
    raw = text if isinstance(text, bytes) else textwrap.dedent(text).encode("utf-8")
    result = analyse("t.disp", raw)
    return [(d.code, d.span.line, d.span.column, d.message) for d in result.diagnostics]


def only(text: str | bytes) -> tuple[str, int, int, str]:
    found = diags(text)
    assert len(found) == 1, found
    return found[0]


# -- one case per code -------------------------------------------------------------

# (code, routing text, line, column, message)
CASES = [
    # E001 syntax errors (more below)
    ("E001", "use = a:b", 1, 5, "expected a name after 'use', found '='"),
    ("E001", "/ a:b", 1, 3, "expected '->' after the path '/', found 'a:b'"),
    ("E001", "/ -> status", 1, 12, "expected a status code after 'status', found end of line"),
    (
        "E001",
        "/ -> redirect 301",
        1,
        18,
        "expected a URL string after 'redirect 301', found end of line",
    ),
    ("E001", "host { / -> a:b }", 1, 6, "expected a host pattern after 'host', found '{'"),
    ("E001", "host a.com / -> a:b", 1, 12, "unexpected '/'; expected ',' or '{'"),
    ("E001", "/ -> a:b }", 1, 10, "unexpected '}'; expected end of line"),
    (
        "E001",
        "frob",
        1,
        1,
        "unexpected 'frob'; expected 'default', 'host', 'use', "
        "a path starting with '/', end of file or end of line",
    ),
    (
        "E001",
        "/ -> a:b(",
        1,
        10,
        "unexpected end of line; expected ')', a name, a number or a string (\"...\")",
    ),
    (
        "E001",
        "host a.com {\n  / -> a:b",
        2,
        11,
        "unclosed '{' of the host block opened at 1:1, found end of file",
    ),
    # E004 a carriage return that does not end a line
    (
        "E004",
        "# note\r/admin -> status 403\n/ -> a:b",
        1,
        7,
        "carriage return ('\\r') not followed by a line feed ('\\n')",
    ),
    # E003 invalid escape in a string
    ("E003", '/ -> redirect 301 "a\\nb"', 1, 21, "invalid escape '\\n' in string"),
    ("E003", '/ -> a:f("a\\qb")', 1, 12, "invalid escape '\\q' in string"),
    # E310 an integer argument too long to be a number
    (
        "E310",
        "/ -> m:f(" + "1" * 101 + ")",
        1,
        10,
        "integer argument has more than 100 digits",
    ),
    # Python refuses int() of more than 4,300 digits: these are diagnostics
    (
        "E305",
        "/ -> status " + "2" * 5000,
        1,
        13,
        "status code 222222...222 is not between 200 and 599",
    ),
    ("E309", "/{x} -> m:f(x) cache " + "9" * 200, 1, 22, "cache size 999999...999 is too large"),
    # E101 undefined name
    ("E101", "/ -> nope", 1, 6, "undefined name 'nope'"),
    ("E101", "host a.com {\n  /x -> frontend\n}", 2, 9, "undefined name 'frontend'"),
    # E102 duplicate use name
    ("E102", "use x = a:b\nuse x = c:d\n/ -> x", 2, 5, "'x' is already defined at 1:5"),
    # E103 duplicate route (same shape, whatever the capture names)
    ("E103", "/ -> a:b\n/ -> c:d", 2, 1, 'duplicate route "/" in the default block'),
    (
        "E103",
        "/a/{x} -> status 200\n/a/{y} -> status 200",
        2,
        1,
        'duplicate route "/a/{y}" (same as "/a/{x}") in the default block',
    ),
    (
        "E103",
        "host example.com {\n  /b -> status 200\n  /b -> status 201\n}",
        3,
        3,
        'duplicate route "/b" in host example.com',
    ),
    # top-level routes and the default block are one block
    (
        "E103",
        "/ -> status 200\ndefault { / -> status 201 }",
        2,
        11,
        'duplicate route "/" in the default block',
    ),
    # E104 duplicate host pattern
    (
        "E104",
        "host example.com { / -> status 200 }\nhost example.com { / -> status 200 }",
        2,
        6,
        "host pattern 'example.com' is already used at 1:6",
    ),
    # E105 ambiguous host patterns
    (
        "E105",
        "host {a}.example.com { / -> status 200 }\nhost {b}.example.com { / -> status 200 }",
        2,
        6,
        "host pattern '{b}.example.com' is ambiguous with '{a}.example.com' at 1:6",
    ),
    # E106 a second default block
    (
        "E106",
        "default { / -> status 200 }\ndefault { /x -> status 200 }",
        2,
        1,
        "a second default block (the first is at 1:1)",
    ),
    # E107 a use naming another use
    ("E107", "use y = a:b\nuse x = y", 2, 9, "'use x' names another name ('y'), not a target"),
    # E108 reserved names
    ("E108", "use status = a:b", 1, 5, "'status' is a keyword and cannot name a target"),
    ("E108", "use redirect = a:b", 1, 5, "'redirect' is a keyword and cannot name a target"),
    # E201 invalid host patterns
    ("E201", "host * { / -> status 200 }", 1, 6, "a host pattern needs at least one literal label"),
    (
        "E201",
        "host {x} { / -> status 200 }",
        1,
        6,
        "a host pattern needs at least one literal label",
    ),
    ("E201", "host {x}.* { / -> status 200 }", 1, 10, "'*' is only allowed as the first label"),
    ("E201", "host a.com:0 { / -> status 200 }", 1, 12, "invalid port '0'"),
    ("E201", "host a.com:65536 { / -> status 200 }", 1, 12, "invalid port '65536'"),
    ("E201", "host a.com: { / -> status 200 }", 1, 12, "invalid port ''"),
    ("E201", "host a.com:abc { / -> status 200 }", 1, 12, "invalid port 'abc'"),
    ("E201", "host a..com { / -> status 200 }", 1, 7, "empty label in host pattern"),
    ("E201", "host .a.com { / -> status 200 }", 1, 6, "empty label in host pattern"),
    ("E201", "host a.com.. { / -> status 200 }", 1, 11, "empty label in host pattern"),
    ("E201", "host a.*.com { / -> status 200 }", 1, 8, "'*' is only allowed as the first label"),
    (
        "E201",
        "host a.{x}.com { / -> status 200 }",
        1,
        8,
        "captures are only allowed before the literal labels",
    ),
    (
        "E201",
        "host *.{x}.com { / -> status 200 }",
        1,
        8,
        "captures are only allowed before the literal labels",
    ),
    ("E201", "host a{x}.com { / -> status 200 }", 1, 6, "invalid label 'a{x}'"),
    ("E201", "host a*.com { / -> status 200 }", 1, 6, "invalid label 'a*'"),
    ("E201", "host a!.com { / -> status 200 }", 1, 7, "invalid character '!' in host label 'a!'"),
    ("E201", "host a/b.com { / -> status 200 }", 1, 7, "invalid character '/' in host label 'a/b'"),
    ("E201", "host a%b.com { / -> status 200 }", 1, 7, "invalid character '%' in host label 'a%b'"),
    ("E201", "host a@b.com { / -> status 200 }", 1, 7, "invalid character '@' in host label 'a@b'"),
    (
        "E201",
        "host {class}.com { / -> status 200 }",
        1,
        6,
        "capture name 'class' is a Python keyword",
    ),
    ("E304", "host {x}.{x}.com { / -> status 200 }", 1, 10, "capture 'x' appears twice"),
    ("E201", "host [::1 { / -> status 200 }", 1, 6, "unclosed '[' in IPv6 host pattern"),
    ("E201", "host [::1]x { / -> status 200 }", 1, 11, "unexpected text after ']'"),
    ("E201", "host [::1]:0 { / -> status 200 }", 1, 12, "invalid port '0'"),
    ("E201", "host [zz::1] { / -> status 200 }", 1, 7, "invalid IPv6 address 'zz::1'"),
    (
        "E201",
        "host [fe80::1%eth0] { / -> status 200 }",
        1,
        7,
        "IPv6 zone identifiers are not supported",
    ),
    (
        "E201",
        "host " + ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62]) + ".com { / -> status 200 }",
        1,
        6,
        "host is longer than 253 characters",
    ),
    # E202 invalid path patterns
    ("E202", "/a/ -> status 200", 1, 3, "trailing '/' in path pattern"),
    ("E202", "/a//b -> status 200", 1, 3, "empty segment in path pattern"),
    ("E202", "/a/b{c} -> status 200", 1, 5, "invalid character '{' in path segment 'b{c}'"),
    ("E202", "/a/{x}y -> status 200", 1, 4, "invalid character '{' in path segment '{x}y'"),
    ("E202", "/a/{x -> status 200", 1, 4, "invalid character '{' in path segment '{x'"),
    ("E202", "/{class} -> status 200", 1, 2, "capture name 'class' is a Python keyword"),
    ("E202", "/{} -> status 200", 1, 2, "capture name '' is not a Python identifier"),
    ("E304", "/{x}/{x} -> status 200", 1, 6, "capture 'x' appears twice in the path"),
    # E301 / E302 invalid module or attribute names
    ("E301", "/ -> my-app:x", 1, 6, "invalid module name 'my-app'"),
    ("E301", "/ -> class:b", 1, 6, "invalid module name 'class'"),
    ("E301", "/ -> a.:b", 1, 6, "invalid module name 'a.'"),
    ("E302", "/ -> app:x-y", 1, 10, "invalid attribute name 'x-y'"),
    ("E302", "/ -> a:b.", 1, 8, "invalid attribute name 'b.'"),
    ("E302", "/ -> a:f.1()", 1, 8, "invalid attribute name 'f.1'"),
    # E303 a factory argument / redirect capture that the route does not capture
    ("E303", "/ -> a:f(x)", 1, 10, "'x' is not a capture of this route"),
    ("E303", '/ -> a:b(1, "x", y)', 1, 18, "'y' is not a capture of this route"),
    (
        "E303",
        "host {a}.example.com, b.example.com { / -> a:f(a) }",
        1,
        48,
        "'a' is not a capture of this route by every host pattern",
    ),
    ("E303", '/ -> redirect 301 "/{nope}"', 1, 21, "'nope' is not a capture of this route"),
    # E304 one name captured twice (host and path)
    (
        "E304",
        "host {a}.example.com { /x/{a} -> a:f() }",
        1,
        27,
        "capture 'a' is captured by the host pattern and by the path",
    ),
    # E305 status code
    ("E305", "/ -> status 999", 1, 13, "status code 999 is not between 200 and 599"),
    ("E305", "/ -> status 199", 1, 13, "status code 199 is not between 200 and 599"),
    # E306 redirect code
    (
        "E306",
        '/ -> redirect 300 "/x"',
        1,
        15,
        "redirect code 300 is not one of 301, 302, 303, 307, 308",
    ),
    # E307 redirect URL
    ("E307", '/ -> redirect 301 "/x y"', 1, 22, "character ' ' is not allowed in a redirect URL"),
    ("E307", '/ -> redirect 301 "/{"', 1, 21, "unclosed '{' in redirect URL"),
    ("E307", '/ -> redirect 301 "/}"', 1, 21, "single '}' in redirect URL"),
    ("E307", '/ -> redirect 301 "/{1x}"', 1, 21, "'{1x}' is not a capture name"),
    ("E307", '/ -> redirect 301 "//cdn.example/x"', 1, 20, "a redirect URL cannot start with '//'"),
    # E311 a capture or {path} that can set a redirect's host
    (
        "E311",
        '/{x} -> redirect 301 "https://example.com{x}"',
        1,
        42,
        "path capture '{x}' can set the host of the redirect",
    ),
    (
        "E311",
        '/{x} -> redirect 301 "{x}{path}"',
        1,
        23,
        "'{x}' at the start of the redirect URL can set its scheme or host",
    ),
    (
        "E311",
        '/a -> redirect 301 "https://{path}"',
        1,
        29,
        "'{path}' can set the host of the redirect: no host is written before it",
    ),
    # E308 options on targets they don't apply to
    ("E308", "/ -> status 200 cache 3", 1, 17, "'cache' applies only to a factory target"),
    ("E308", "/ -> a:b cache 3", 1, 10, "'cache' applies only to a factory target"),
    ("E308", "/ -> status 200 lazy", 1, 17, "'lazy' applies only to an application or a factory"),
    ("E308", "use a = a:b lazy\n/ -> a cache 3", 2, 8, "'cache' applies only to a factory target"),
    ("E308", "/ -> status 200 wsgi", 1, 17, "'wsgi' applies only to an application or a factory"),
    (
        "E308",
        '/ -> redirect 301 "/x" wsgi',
        1,
        24,
        "'wsgi' applies only to an application or a factory",
    ),
    (
        "E308",
        "use s = status 410\n/ -> s wsgi",
        2,
        8,
        "'wsgi' applies only to an application or a factory",
    ),
    # E309 invalid options
    ("E309", "/ -> a:f() cache 1 cache 2", 1, 20, "'cache' is given twice"),
    ("E309", "/ -> a:f() cache -1", 1, 18, "cache size -1 is negative"),
    ("E309", "/ -> a:f() lazy lazy", 1, 17, "'lazy' is given twice"),
    ("E309", "/ -> a:b wsgi lazy wsgi", 1, 20, "'wsgi' is given twice"),
]


@pytest.mark.parametrize(
    ("code", "text", "line", "col", "message"), CASES, ids=lambda v: repr(v)[:40]
)
def test_error_code(code, text, line, col, message):
    assert only(text) == (code, line, col, message)


def test_invalid_utf8_is_e002():
    assert only(b"/ -> a:b\n/\xff -> a:c\n") == (
        "E002",
        2,
        2,
        "the file is not valid UTF-8 (byte 0xff)",
    )
    assert only(b"/ -> a:b\n/caf\xc3\xa9 -> a:c \xfe\n") == (
        "E002",
        2,
        14,
        "the file is not valid UTF-8 (byte 0xfe)",
    )


def test_utf8_bom_is_skipped():
    assert only(b"\xef\xbb\xbf/ -> status 99\n") == (
        "E305",
        1,
        13,
        "status code 99 is not between 200 and 599",
    )


def test_path_table_too_large_is_e203():
    # 2**k states: route i has the literal "a" at segment i and captures elsewhere.
    n = 18
    routes = [
        "/" + "/".join("a" if j == i else f"{{c{j}}}" for j in range(n)) + " -> status 200"
        for i in range(n)
    ]
    text = "use x = a:b\nhost x.com {\n" + "\n".join(routes) + "\n}\n"
    message = (
        "the routes of host x.com cannot be compiled: "
        "its path table would need more than 200,000 states"
    )
    # lint (analyse) reports it, and build refuses it with the same diagnostic.
    assert diags(text) == [("E203", 2, 1, message)]
    with pytest.raises(DispatchError) as info:
        compile_text(text)
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.column, d.message) == ("E203", 2, 1, message)


def test_every_compiler_error_code_is_covered():
    covered = {case[0] for case in CASES} | {"E002", "E203"}
    errors = {code for code, (severity, _) in CODES.items() if severity == "error"}
    # E4xx come from `lint --resolve`, tested in test_lint.py; N... from the
    # nginx target (SPEC §10), tested in tests/targets/nginx.
    assert covered == {code for code in errors if code.startswith("E") and code[1] != "4"}


def test_all_codes_have_a_severity_and_a_name():
    for code, (severity, name) in CODES.items():
        assert severity in ("error", "warning") and name, code


def test_help_texts():
    result = analyse("t.disp", b"use frontend = a:b\n/ -> frontnd\n")
    (d,) = result.diagnostics
    assert d.code == "E101" and d.help == "did you mean 'frontend'?"
    result = analyse("t.disp", b"/a/ -> a:b\n")
    assert result.diagnostics[0].help == "write '/a': it also matches paths below it"
    result = analyse("t.disp", b"host a.com {\n/ -> a:b\n")
    assert result.diagnostics[0].help == "add '}' after line 2"
    result = analyse("t.disp", b"host {a}.b.com, {c}.b.org { / -> a:f(a) }\n")
    assert result.diagnostics[0].help == "captures here: a, c"


def test_load_table_raises_dispatch_error_with_every_error():
    text = b"/ -> status 99\n/x/ -> a:b\n"
    with pytest.raises(DispatchError) as info:
        load_table("routes.disp", text)
    err = info.value
    assert [(d.code, d.span.line, d.span.column) for d in err.diagnostics] == [
        ("E305", 1, 13),
        ("E202", 2, 3),
    ]
    rendered = str(err)
    assert "routes.disp:1:13: error[E305]: status code 99 is not between 200 and 599" in rendered
    assert "routes.disp:2:3: error[E202]: trailing '/' in path pattern" in rendered


def test_keyword_is_not_a_use_name():
    # SPEC §1: identifiers are Python identifiers that are not Python keywords.
    for name in ["class", "None", "import"]:
        found = diags(f"use {name} = a:b\n/ -> {name}\n")
        assert [(line, col) for _, line, col, _ in found][:1] == [(1, 5)], (name, found)


# -- several errors at once ---------------------------------------------------------


def test_several_errors_are_all_reported_in_order():
    text = """\
    / -> status 200 # a comment "x
    /x -> a:b
    /x -> c:d
    /y/ -> e:f
    host a..b { / -> status 99 }
    /z -> nope
    /w -> a:f(q) lazy lazy
    use status = m:x
    /v -> redirect 300 "/ok"
    host {s}.example.com { /{s} -> my-mod:f(s, t) }
    """
    found = [(code, line) for code, line, _, _ in diags(text)]
    assert found == [
        ("E103", 3),
        ("E202", 4),
        ("E201", 5),
        ("E305", 5),
        ("E101", 6),
        ("E303", 7),
        ("E309", 7),
        ("E108", 8),
        ("E306", 9),
        ("E304", 10),
        ("E301", 10),
    ]


def test_capture_errors_are_reported_even_when_the_target_is_bad():
    # The host/path capture clash does not depend on the target: a bad module
    # name must not hide it (lint reports every error in one run).
    found = [code for code, *_ in diags("host {s}.example.com { /{s} -> my-mod:f(s) }")]
    assert sorted(found) == ["E301", "E304"]


def test_errors_in_every_block_are_reported():
    text = """\
    host a.com { /x/ -> a:b }
    host b.com { / -> status 700 }
    default { / -> undefined_name }
    / -> a:b cache 2
    """
    assert [(c, n) for c, n, _, _ in diags(text)] == [
        ("E202", 1),
        ("E305", 2),
        ("E101", 3),
        ("E308", 4),
    ]


def test_a_use_with_an_error_does_not_cascade():
    # the bad `use` is reported once; the routes that use it add nothing
    text = "use a = my-app:x\n/ -> a\n/b -> a\n"
    assert [c for c, *_ in diags(text)] == ["E301"]
    text = "use a = status 999\n/ -> a\n"
    assert [c for c, *_ in diags(text)] == ["E305"]
    # a use naming another name is defined too: no "undefined name 'x'" after E107
    text = "use x = y\nuse y = a:b\n/ -> x\n"
    assert [c for c, *_ in diags(text)] == ["E107"]


# -- syntax errors in words -------------------------------------------------------


RAW_TERMINALS = [
    "_NL",
    "$END",
    "NAME",
    "IMPORT_REF",
    "HOST_PATTERN",
    "RBRACE",
    "LBRACE",
    "__ANON",
    "STRING",
    "INT",
    "LPAR",
    "RPAR",
    "CACHE",
    "LAZY",
    "STATUS",
    "REDIRECT",
]


# Each syntax error in words, pinned (like Jinja's test_error_messages).
SYNTAX_MESSAGES = [
    ("use = a:b", "expected a name after 'use', found '='"),
    ("use x a:b", "expected '=' after 'use x', found 'a:b'"),
    (
        "use x =",
        "expected a target after '=' ('redirect', 'status', a name or a target such as "
        "module:attr), found end of line",
    ),
    (
        "/ ->",
        "expected a target after '->' ('redirect', 'status', a name or a target such as "
        "module:attr), found end of line",
    ),
    ("/ a:b", "expected '->' after the path '/', found 'a:b'"),
    ("/backend  frontend", "expected '->' after the path '/backend', found 'frontend'"),
    ("host {", "expected a host pattern after 'host', found '{'"),
    ("host a.com, {", "expected a host pattern after ',', found '{'"),
    ("host a.com { / }", "expected '->' after the path '/', found '}'"),
    ("default", "expected '{' on the line of 'default', found end of line"),
    ("default x", "expected '{' after 'default', found 'x'"),
    ("default {", "unclosed '{' of the default block opened at 1:1, found end of file"),
    ("/ -> status", "expected a status code after 'status', found end of line"),
    ("/ -> status x", "expected a status code after 'status', found 'x'"),
    ("/ -> redirect", "expected a status code after 'redirect', found end of line"),
    ("/ -> redirect 301", "expected a URL string after 'redirect 301', found end of line"),
    ("/ -> a:b cache", "expected a number after 'cache', found end of line"),
    (
        "use a = b:c\nhost a.com {\n  / -> a:b",
        "unclosed '{' of the host block opened at 2:1, found end of file",
    ),
    ("/ -> a:b )", "unexpected ')'; expected '(', 'cache', 'lazy', 'wsgi' or end of line"),
    (
        "}",
        "unexpected '}'; expected 'default', 'host', 'use', a path starting with '/', "
        "end of file or end of line",
    ),
]


@pytest.mark.parametrize(("text", "message"), SYNTAX_MESSAGES)
def test_syntax_errors_are_in_words(text, message):
    code, line, col, found = only(text)
    assert code == "E001"
    assert found == message
    for raw in RAW_TERMINALS:
        assert raw not in found, found


def test_syntax_error_does_not_offer_a_brace_outside_a_block():
    # At top level a route cannot be followed by '}'; inside a block it can.
    _, _, _, top = only("/ -> a:b @\n")
    _, _, _, inside = only("host a.com { / -> a:b @ }\n")
    assert "'}'" in inside
    assert "'}'" not in top, top


@pytest.mark.parametrize(
    "text",
    [
        "use x = a:b\x00\n/ -> x\n",
        "/ -> a:b\x1b[2J\n",
        "/ -> a\x1b]0;t\x07:b\n",
        '/ -> redirect 301 "/\x1b"\n',
        "host a\x1b.com { / -> status 200 }\n",
        "/a\x1b -> status 200\n",
    ],
    ids=repr,
)
def test_messages_hold_no_control_characters(text):
    # A diagnostic is printed to a terminal: a control character from the
    # source must never reach it raw (the source excerpt is already shown safely).
    result = analyse("t.disp", text.encode("utf-8"))
    assert result.diagnostics
    with pytest.raises(DispatchError) as info:
        load_table("t.disp", text.encode("utf-8"))
    rendered = str(info.value)
    assert all(c == "\n" or c.isprintable() for c in rendered), rendered


def test_only_one_syntax_error_then_stop():
    found = diags("/ -> \n/x -> status 99\n")
    assert [c for c, *_ in found] == ["E001"]


def test_syntax_error_position_on_later_line():
    assert only("use a = b:c\n\n# comment\nhost a.com {\n  /x -> a\n  /y a\n}\n")[:3] == (
        "E001",
        6,
        6,
    )


# -- host pattern precedence and ambiguity ----------------------------------------


def _hosts(*patterns: str) -> str:
    return "\n".join(f"host {p} {{ / -> status 200 }}" for p in patterns)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{a}.example.com", "{a}.example.com:8080"),
        ("*.example.com", "{a}.example.com"),
        ("*.example.com", "*.example.com:8080"),
        ("{a}.example.com:8080", "{b}.example.com:8081"),
        ("a.example.com", "{x}.example.com"),
        ("a.example.com", "*.example.com"),
        ("{a}.example.com", "{a}.{b}.example.com"),
        ("*.example.com", "*.a.example.com"),
        ("{a}.example.com", "{b}.example.org"),
        ("{a}.b.example.com", "{a}.{b}.example.com"),
        ("example.com", "example.com:8080"),
        ("example.com:8080", "example.com:8081"),
        ("example.com", "www.example.com"),
        ("[::1]", "[::1]:8080"),
        ("[::1]", "[::2]"),
    ],
)
def test_patterns_of_different_rank_are_fine(first, second):
    assert diags(_hosts(first, second)) == []
    assert diags(_hosts(second, first)) == []


@pytest.mark.parametrize(
    ("first", "second", "code", "text"),
    [
        ("{a}.example.com", "{b}.example.com", "E105", "{b}.example.com"),
        ("{a}.{b}.x.com", "{c}.{d}.x.com", "E105", "{c}.{d}.x.com"),
        ("{a}.example.com:8080", "{b}.example.com:8080", "E105", "{b}.example.com:8080"),
        ("{a}.example.com", "{a}.EXAMPLE.com.", "E104", "{a}.example.com"),
        ("*.example.com", "*.Example.COM.", "E104", "*.example.com"),
        ("example.com", "Example.com.", "E104", "example.com"),
        ("example.com:80", "example.com:080", "E104", "example.com:80"),
        ("bücher.example", "xn--bcher-kva.example", "E104", "xn--bcher-kva.example"),
        ("BÜCHER.example", "bücher.example", "E104", "xn--bcher-kva.example"),
        ("[::1]", "[::1]", "E104", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]", "E104", "[2001:db8::1]"),
    ],
)
def test_equal_rank_overlapping_patterns_are_errors(first, second, code, text):
    found = diags(_hosts(first, second))
    assert len(found) == 1, found
    got_code, line, col, message = found[0]
    assert (got_code, line, col) == (code, 2, 6)
    assert f"'{text}'" in message
    assert "at 1:6" in message  # both locations: the diagnostic's own and the first's


def test_same_pattern_twice_in_one_block():
    assert only("host a.com, b.com, A.com { / -> status 200 }") == (
        "E104",
        1,
        20,
        "host pattern 'a.com' is already used at 1:6",
    )


def test_ambiguity_is_reported_at_the_later_pattern_whatever_the_block_order():
    text = (
        "host {b}.example.com { / -> status 200 }\nhost x.org, {a}.example.com { / -> status 200 }"
    )
    assert only(text) == (
        "E105",
        2,
        13,
        "host pattern '{a}.example.com' is ambiguous with '{b}.example.com' at 1:6",
    )


def test_three_equal_patterns_give_two_errors():
    found = diags(_hosts("{a}.x.com", "{b}.x.com", "{c}.x.com"))
    assert [(c, n) for c, n, _, _ in found] == [("E105", 2), ("E105", 3)]
    assert all("at 1:6" in m for *_, m in found)


# -- path route duplicates (same shape) -----------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/a/{x}", "/{y}/b"),
        ("/a", "/{x}"),
        ("/{x}", "/{x}/{y}"),
        ("/a/b", "/a/{b}"),
        ("/a", "/A"),
        ("/café", "/cafe"),
        ("/", "/a"),
    ],
)
def test_routes_of_different_shape_are_fine(first, second):
    assert diags(f"{first} -> status 200\n{second} -> status 201") == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/{x}", "/{y}"),
        ("/a/{x}/c", "/a/{y}/c"),
        ("/café", "/café"),
        ("/{org}/repos/{r}", "/{o}/repos/{x}"),
    ],
)
def test_routes_of_equal_shape_are_errors(first, second):
    code, line, col, message = only(f"{first} -> status 200\n{second} -> status 201")
    assert (code, line, col) == ("E103", 2, 1)
    assert message.startswith(f'duplicate route "{second}"')


def test_same_route_in_different_blocks_is_fine():
    text = """\
    host a.com { /x -> status 200 }
    host b.com { /x -> status 200 }
    default { /x -> status 200 }
    """
    assert diags(text) == []


# -- reordering statements gives an equal IR ----------------------------------------


ORDERED = """\
use frontend = frontend_app:application
use backend  = backend_app:application lazy
use mk       = myapplication:make_app(prefix) cache 10

host example.com, www.example.com {
    /         -> frontend
    /backend  -> backend
    /old      -> redirect 301 "https://example.org{path}"
}
host {subdomain}.example.com {
    / -> myapplication:make_app(subdomain)
}
host users.example.org {
    /{prefix} -> mk
    /         -> myapplication:default_app
}
/         -> status 404
/gone     -> status 410
"""

REORDERED = """\
/gone     -> status 410
host users.example.org {
    /         -> myapplication:default_app
    /{prefix} -> mk
}
use mk       = myapplication:make_app(prefix) cache 10
host {subdomain}.example.com {
    / -> myapplication:make_app(subdomain)
}
default {
    /         -> status 404
}
host example.com, www.example.com {
    /old      -> redirect 301 "https://example.org{path}"
    /backend  -> backend
    /         -> frontend
}
use backend  = backend_app:application lazy
use frontend = frontend_app:application
"""

RELAID = """\
# the same file, laid out differently
use frontend = frontend_app:application
use backend = backend_app:application    lazy
use mk = myapplication:make_app( prefix ) cache 10
host example.com,www.example.com { /->frontend
  /backend->backend
  /old -> redirect 301 "https://example.org{path}" }
host {subdomain}.example.com { / -> myapplication:make_app(subdomain) }
host users.example.org {
  /{prefix} -> mk

  / -> myapplication:default_app
}
/ -> status 404
/gone -> status 410
"""


def test_layout_does_not_change_the_ir():
    assert load_table("a.disp", ORDERED.encode()) == load_table("b.disp", RELAID.encode())


def test_reordering_statements_gives_an_equal_ir():
    assert load_table("a.disp", ORDERED.encode()) == load_table("b.disp", REORDERED.encode())


def test_reordering_statements_gives_the_same_routing():
    import sys
    import types

    from werkzeug.test import Client

    mods = {}
    for name in ["frontend_app", "backend_app", "myapplication"]:
        mods[name] = types.ModuleType(name)

    def app_named(label):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{label} {environ['SCRIPT_NAME']} {environ['PATH_INFO']}".encode()]

        return app

    mods["frontend_app"].application = app_named("frontend")
    mods["backend_app"].application = app_named("backend")
    mods["myapplication"].make_app = lambda x: None if x == "nobody" else app_named(f"made {x}")
    mods["myapplication"].default_app = app_named("default")
    saved = {name: sys.modules.get(name) for name in mods}
    sys.modules.update(mods)
    try:
        a = build_module(ORDERED).application
        b = build_module(REORDERED).application
        requests = [
            ("example.com", "/"),
            ("www.example.com", "/backend/x"),
            ("example.com", "/old/a?b"),
            ("alice.example.com", "/x"),
            ("users.example.org", "/bob/x"),
            ("users.example.org", "/nobody/x"),
            ("other.test", "/gone/x"),
            ("other.test", "/"),
            ("bad host", "/"),
        ]
        for host, path in requests:
            ra = Client(a).get(path, headers={"Host": host})
            rb = Client(b).get(path, headers={"Host": host})
            assert (ra.status, ra.get_data(), ra.headers.get("Location")) == (
                rb.status,
                rb.get_data(),
                rb.headers.get("Location"),
            ), (host, path)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


# -- what a reviewer sees is what dispatchc reads (SPEC §1) ----------------------------


def test_a_carriage_return_inside_a_comment_does_not_hide_a_route():
    # An editor or a review tool shows "/admin -> status 403" on a line of its
    # own; dispatchc would read it as the rest of the comment. It is an error.
    text = b"/ -> app:a\n# note\r/admin -> status 403\n"
    with pytest.raises(DispatchError) as info:
        load_table("routes.disp", text)
    assert str(info.value) == (
        "routes.disp:2:7: error[E004]: carriage return ('\\r') not followed by a line feed "
        "('\\n')\n"
        "  |\n"
        "2 | # note\ufffd/admin -> status 403\n"
        "  |       ^\n"
        "  = help: editors and review tools show a line break here, dispatchc does not: "
        "remove it, or end the line with '\\n'"
    )


def test_every_line_with_a_bare_carriage_return_is_reported_once():
    text = b"/ -> a:b\r\n/x -> a:b\r\r\n/y\r -> a\r:b\r"
    assert diags(text) == [
        ("E004", 2, 10, "carriage return ('\\r') not followed by a line feed ('\\n')"),
        (
            "E004",
            3,
            3,
            "carriage return ('\\r') not followed by a line feed ('\\n') (and 2 more on this line)",
        ),
    ]


def test_old_mac_line_endings_are_one_line_with_the_caret_on_the_first_cr():
    with pytest.raises(DispatchError) as info:
        load_table("routes.disp", b"/ -> a:b\r/x -> c:d\r")
    lines = str(info.value).split("\n")
    assert lines[0].startswith("routes.disp:1:9: error[E004]: ")
    assert lines[2:4] == ["1 | / -> a:b\ufffd/x -> c:d\ufffd", "  |         ^"]


def test_crlf_line_endings_are_fine_and_keep_the_caret_in_place():
    assert diags(b"/ -> a:b\r\n/x -> c:d\r\n") == []
    # At the end of a CRLF file the caret is after the last character, not after its \r.
    with pytest.raises(DispatchError) as info:
        load_table("routes.disp", b"host a.com {\r\n  / -> a:b\r\n")
    lines = str(info.value).split("\n")
    assert lines[0].startswith("routes.disp:2:11: error[E001]: unclosed '{'")
    assert lines[2:4] == ["2 |   / -> a:b", "  |           ^"]


# -- diagnostics a newcomer meets ------------------------------------------------------


def full(text: str) -> tuple[str, int, int, str, str | None]:
    result = analyse("t.disp", text.encode("utf-8"))
    assert len(result.diagnostics) == 1, result.diagnostics
    (d,) = result.diagnostics
    return (d.code, d.span.line, d.span.column, d.message, d.help)


NEWCOMER = [
    # a use that forgot its ":attr"
    (
        "use admin = admin\n/ -> admin\n",
        ("E107", 1, 13, "'use admin' names itself, not a target"),
        "a target is module:attr, e.g. admin:app",
    ),
    (
        "use admin = admin_app\n/ -> admin\n",
        ("E107", 1, 13, "'use admin' names 'admin_app', which is not a target"),
        "a target is module:attr, e.g. admin_app:app",
    ),
    # ...and one that names another name, even one defined below it
    (
        "use site = frontend\nuse frontend = f:app\n/ -> site\n/x -> frontend\n",
        ("E107", 1, 12, "'use site' names another name ('frontend'), not a target"),
        "write the target of 'frontend' here, or use 'frontend' directly",
    ),
    # a URL where a host pattern goes
    (
        "host https://example.com {\n    / -> a:b\n}\n",
        ("E201", 1, 6, "a host pattern has no scheme ('https://')"),
        "write: host example.com",
    ),
    (
        "host http://example.com:8080/x {\n    / -> a:b\n}\n",
        ("E201", 1, 6, "a host pattern has no scheme ('http://')"),
        "write: host example.com:8080",
    ),
    # an unclosed block followed by another block
    (
        "host a.com {\n    / -> a:b\n    /x -> a:c\n\nhost b.com {\n    / -> a:d\n}\n",
        ("E001", 5, 1, "unclosed '{' of the host block opened at 1:1, found 'host'"),
        "add '}' after line 3",
    ),
    # ...or by top-level routes, which the '}' must not swallow
    (
        "use a = m:a\n\nhost a.com {\n    / -> a\n    /x -> a\n\n/top -> a\n/other -> a\n",
        ("E001", 8, 12, "unclosed '{' of the host block opened at 3:1, found end of file"),
        "add '}' after line 5",
    ),
    (
        "host a.com {\n/ -> a:b\n/x -> a:b\n\n/top -> a:c\n",
        ("E001", 5, 12, "unclosed '{' of the host block opened at 1:1, found end of file"),
        "add '}' after line 3",
    ),
    (
        "host a.com { / -> a:b\n/x -> a:c\n",
        ("E001", 2, 10, "unclosed '{' of the host block opened at 1:1, found end of file"),
        "add '}' after line 1",
    ),
    (
        "host a.com {\n    / -> a:b\nuse x = a:b\n",
        ("E001", 3, 1, "unclosed '{' of the host block opened at 1:1, found 'use'"),
        "add '}' after line 2",
    ),
    # a status with a text
    (
        '/gone -> status 410 "Gone"\n',
        ("E001", 1, 21, "'status 410' takes no text, found '\"Gone\"'"),
        "write: status 410 (the response body is '410 Gone')",
    ),
    # options are not offered after a status or a redirect (they would be E308)
    (
        "/gone -> status 410 lazzy\n",
        ("E001", 1, 21, "unexpected 'lazzy'; expected end of line"),
        None,
    ),
    (
        '/old -> redirect 301 "/new" permanent\n',
        ("E001", 1, 29, "unexpected 'permanent'; expected end of line"),
        None,
    ),
    # habits from other languages
    (
        "// the main site\n/ -> a:b\n",
        ("E001", 1, 4, "expected '->' after the path '//', found 'the'"),
        "a comment starts with '#'",
    ),
    (
        "host a.com {\n    use x = a:b\n    / -> x\n}\n",
        (
            "E001",
            2,
            5,
            "'use' inside the host block opened at 1:1: a use is only allowed at top level",
        ),
        "move it above the block",
    ),
    (
        "host a.com, b.com\n{\n    / -> a:b\n}\n",
        ("E001", 1, 18, "expected '{' on the line of 'host', found end of line"),
        "the '{' must be on the host line: host a.com, b.com {",
    ),
    (
        "default\n{\n    / -> a:b\n}\n",
        ("E001", 1, 8, "expected '{' on the line of 'default', found end of line"),
        "the '{' must be on the default line: default {",
    ),
    # misspelt keywords
    (
        "/ -> a:b lazzy\n",
        ("E001", 1, 10, "unexpected 'lazzy'; expected '(', 'cache', 'lazy', 'wsgi' or end of line"),
        "did you mean 'lazy'?",
    ),
    (
        "/{x} -> a:b(x) cahce 3\n",
        ("E001", 1, 16, "unexpected 'cahce'; expected 'cache', 'lazy', 'wsgi' or end of line"),
        "did you mean 'cache'?",
    ),
    (
        "hots a.com {\n    / -> a:b\n}\n",
        (
            "E001",
            1,
            1,
            "unexpected 'hots'; expected 'default', 'host', 'use', a path starting with '/', "
            "end of file or end of line",
        ),
        "did you mean 'host'?",
    ),
    # a Python keyword as a capture name
    (
        "/{class} -> a:b(class)\n",
        ("E202", 1, 2, "capture name 'class' is a Python keyword"),
        "choose another name, e.g. {class_}",
    ),
    (
        "host {import}.a.com { / -> status 200 }\n",
        ("E201", 1, 6, "capture name 'import' is a Python keyword"),
        "choose another name, e.g. {import_}",
    ),
]


@pytest.mark.parametrize(("text", "diagnostic", "help_text"), NEWCOMER, ids=repr)
def test_newcomer_diagnostics(text, diagnostic, help_text):
    assert full(text) == (*diagnostic, help_text)


def test_a_keyword_use_name_is_reported_once():
    # E108 only: the routes naming it get no "undefined name" on top.
    assert diags("use class = m:a\n/ -> class\n/x -> class\n") == [
        ("E108", 1, 5, "'class' is a Python keyword and cannot name a target")
    ]


def test_a_use_missing_a_capture_is_reported_at_the_route_that_lacks_it():
    # The use is fine for /{sub}; the route "/" is the one to fix (or not to
    # name x), and the message says where the use needs the capture.
    text = "use x = m:f(sub)\nhost a.com {\n    /{sub} -> x\n    / -> x\n}\n"
    assert full(text) == (
        "E303",
        4,
        10,
        "'sub' is not a capture of this route; 'use x' needs it at 1:13",
        "capture it in the path (/{name}) or the host ({name}.example.com)",
    )
    text = 'use x = redirect 301 "/n/{sub}"\nhost {sub}.a.com, b.com {\n    / -> x\n}\n'
    assert full(text) == (
        "E303",
        3,
        10,
        "'sub' is not a capture of this route by every host pattern; 'use x' needs it at 1:26",
        "captures here: sub",
    )


def test_an_unexpected_character_in_an_open_block_is_not_end_of_file():
    assert full("host a.com {\n    / -> a:b\n    \u2028\n") == (
        "E001",
        3,
        5,
        "unexpected character 'U+2028'; expected '}', a path starting with '/' or end of line",
        "remove the Unicode line separator; lines end with '\\n'",
    )


# -- the wsgi option ------------------------------------------------------------


def _route_target(text: str, path: str = "/"):
    table = load_table("t.disp", text.encode())
    assert table.default is not None
    return next(r.target for r in table.default.routes if r.path.text == path)


@pytest.mark.parametrize(
    ("text", "path", "wsgi", "lazy"),
    [
        ("/ -> legacy:app wsgi", "/", True, False),
        ("/{t} -> legacy:make(t) wsgi cache 3", "/{t}", True, False),
        ("/ -> legacy:app", "/", False, False),
        # A route adds it to a use that does not have it, keeping the use's options.
        ("use old = legacy:app lazy\n/ -> old wsgi", "/", True, True),
        # A route cannot take it back: the use's option stays.
        ("use old = legacy:app wsgi\n/ -> old lazy", "/", True, True),
        ("use old = legacy:make(t) wsgi\n/{t} -> old cache 2", "/{t}", True, False),
    ],
)
def test_wsgi_option_marks_the_target(text, path, wsgi, lazy):
    target = _route_target(text, path)
    assert (target.wsgi, target.lazy) == (wsgi, lazy)


def test_wsgi_option_is_part_of_the_target_text():
    target = _route_target("/{t} -> legacy:make(t) wsgi lazy cache 3", "/{t}")
    assert target_text(target) == "legacy:make(t) cache 3 lazy wsgi"
