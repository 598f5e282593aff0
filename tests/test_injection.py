"""No source text can change the generated code's structure (SPEC §5).

Adversarial text (quotes, backslashes, triple quotes, braces, ``#``, ``%``,
Unicode line separators, NUL, bidi controls, non-ASCII) is placed in host
patterns, paths, redirect URLs, string factory arguments, module names and
attribute names. For each input, either

* compilation fails with ``DispatchError``, whose diagnostics each carry a
  known code and a line/column (never another exception type), or
* the generated module has exactly the structure of the module generated for
  a benign input of the same shape (its AST with every string constant
  blanked out and every compiler-owned name renamed by order of first
  appearance is identical: names come from routes and targets, so they
  differ, but each is a plain ASCII identifier), its string constants are
  those of the benign module with the benign values swapped for the
  intended ones, and running it routes the request to the right route,
  which sees the intended value.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import itertools
import string
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from dispatchc.compiler import load_table
from dispatchc.diagnostics import CODES
from dispatchc.errors import DispatchError

from .helpers import (
    SAMPLES,
    call,
    compile_text,
    environ,
    load_module,
    redirect_locations,
    skeleton,
    string_constants,
)
from .strategies import NASTY

TARGET = "_dc_injection_target"

# -- helpers -----------------------------------------------------------------


class App:
    """Records what reached it in the environ."""

    def __init__(self, args: tuple = ()):
        self.args = args

    def __call__(self, environ, start_response):
        environ["test.args"] = self.args
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app"]


def _factory(*args: Any) -> App:
    return App(args)


@pytest.fixture(scope="module", autouse=True)
def _target_module() -> Iterator[None]:
    module = types.ModuleType(TARGET)
    module.f = _factory
    module.app = App()
    sys.modules[TARGET] = module
    yield
    sys.modules.pop(TARGET, None)


def quote(value: str) -> str:
    """``value`` as a routing-file string literal (escapes: \\" and \\\\)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def path_info_form(text: str) -> str:
    """How a server puts text in PATH_INFO: UTF-8 bytes decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def iri_to_uri(text: str) -> str:
    """Non-ASCII characters percent-encoded as UTF-8 (the redirect URL rule)."""
    return "".join(
        c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text
    )


def request(application, path: str, host: str | None = None) -> tuple[int, dict, dict]:
    """One request; ``path`` goes to PATH_INFO as is. Returns status, headers, environ."""
    env = environ(host or "localhost", path)
    response = call(application, env)
    return response.status, dict(response.headers), env


def assert_diagnosed(exc: DispatchError, text: str) -> None:
    """Every diagnostic has a known code and a position inside the file."""
    assert exc.diagnostics, "DispatchError without diagnostics"
    lines = text.count("\n") + 1
    for d in exc.diagnostics:
        assert d.code in CODES, d
        assert d.is_error, d
        assert 1 <= d.span.line <= lines, d
        assert d.span.column >= 1, d
    assert str(exc)  # rendering the diagnostics does not fail


@functools.cache
def benign_module(text: str) -> str:
    return compile_text(text)


def assert_plain_text(code: str) -> None:
    """Lines end only with \\n, and every character shown is printable: no
    U+2028/U+0085 that an editor would break a line at, no bidi control that
    would show code other than what runs, no NUL."""
    assert code.endswith("\n")
    lines = code.split("\n")[:-1]
    assert code.splitlines() == lines
    for line in lines:
        assert line.isprintable(), ascii(line)


def compile_or_diagnose(text: str) -> str | None:
    """Generated source, or None after checking the DispatchError."""
    try:
        code = compile_text(text)
    except DispatchError as exc:
        assert_diagnosed(exc, text)
        return None
    assert_plain_text(code)
    return code


def outcome(name: str) -> None:
    """Count outcomes in Hypothesis statistics (--hypothesis-show-statistics)."""
    if currently_in_test_context():
        event(name)


def assert_same_structure(code: str, benign: str, swaps: dict[str, str]) -> None:
    """``code`` is ``benign`` with the benign strings in ``swaps`` replaced.

    ``swaps`` maps each benign string constant to the intended one; each
    must be a constant of the benign module.
    """
    assert skeleton(code) == skeleton(benign)
    before = string_constants(benign)
    assert set(swaps) <= before, sorted(set(swaps) - before)
    expected = (before - set(swaps)) | set(swaps.values())
    assert string_constants(code) == expected


# -- string factory arguments --------------------------------------------------

ARG_ROUTE = "/arg -> " + TARGET + ":f({})\n/ -> status 404\n"
ARG_BENIGN = "benign-argument"


def check_string_argument(value: str) -> None:
    text = ARG_ROUTE.format(quote(value))
    code = compile_or_diagnose(text)
    outcome("refused" if code is None else "compiled")
    if code is None:
        return
    benign = benign_module(ARG_ROUTE.format(quote(ARG_BENIGN)))
    assert_same_structure(code, benign, {ARG_BENIGN: value})
    # The value is the factory's one argument: the cache key is that constant.
    keys = [
        stmt.value
        for node in ast.parse(code).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_dc_route_")
        for stmt in node.body
        if isinstance(stmt, ast.Assign) and getattr(stmt.targets[0], "id", "") == "key"
    ]
    assert len(keys) == 1
    assert isinstance(keys[0], ast.Constant) and keys[0].value == value
    # And the factory receives it.
    module = load_module(code)
    status, _, environ = request(module.application, "/arg")
    assert status == 200
    assert environ["test.args"] == (value,)
    assert environ["dispatchc.route"] == "default /arg"


one_line_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=4)), max_size=8).map(
    lambda parts: "".join(parts).replace("\n", "").replace("\r", "")
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_line_text)
@example("'\"\\{{}}'''\"\"\"#%\u2028\u2029\x85\x00\u202e漢")
def test_string_argument_fuzz(value):
    check_string_argument(value)


@pytest.mark.parametrize("value", [n for n in NASTY if "\n" not in n], ids=ascii)
def test_string_argument_nasty(value):
    check_string_argument(value)
    check_string_argument("a" + value + "b")


@pytest.mark.parametrize(
    "value",
    ["it's", 'say "hi"', "C:\\dir\\", "{{x}}", "'''", '"""', "100%", "#not a comment", "é漢😀", ""],
    ids=ascii,
)
def test_ordinary_string_arguments_compile(value):
    # The SPEC's strings hold any text on one line: these must not be refused.
    code = compile_text(ARG_ROUTE.format(quote(value)))
    assert value in string_constants(code)


@pytest.mark.parametrize(
    "literal",
    [
        '"a\\nb"',  # \n is not an escape of the language
        '"a\\u2028"',
        '"a\\x00"',
        '"a\\\'"',
        '"unterminated',
        '"a\\"',
        '"a\rb"',
        '"a\nb"',
        "'single'",
        '"""triple"""',
    ],
    ids=ascii,
)
def test_invalid_string_literals_are_diagnosed(literal):
    text = f"/arg -> {TARGET}:f({literal})\n"
    with pytest.raises(DispatchError) as info:
        compile_text(text)
    assert_diagnosed(info.value, text)


def test_invalid_utf8_is_diagnosed():
    raw = b"/arg -> " + TARGET.encode() + b':f("\xff\xfe")\n'
    with pytest.raises(DispatchError) as info:
        load_table("routes.disp", raw)
    assert [d.code for d in info.value.diagnostics] == ["E002"]
    assert_diagnosed(info.value, raw.decode("utf-8", "replace"))


# -- redirect URLs -------------------------------------------------------------

URL_ROUTE = "/r -> redirect 302 {}\n/ -> status 404\n"
URL_BENIGN = "http://benign.test/"


def check_redirect_url(value: str) -> None:
    """``value`` is the intended URL text: braces in it are literal."""
    written = value.replace("{", "{{").replace("}", "}}")
    text = URL_ROUTE.format(quote(written))
    code = compile_or_diagnose(text)
    outcome("refused" if code is None else "compiled")
    if code is None:
        return
    location = iri_to_uri(value)
    benign = benign_module(URL_ROUTE.format(quote(URL_BENIGN)))
    assert_same_structure(code, benign, {URL_BENIGN: location})
    # Nothing to substitute: the Location is that one constant.
    assert redirect_locations(code) == {location: [("text", location)]}
    module = load_module(code)
    status, headers, environ = request(module.application, "/r")
    assert status == 302
    assert headers["Location"] == location
    assert environ["dispatchc.route"] == "default /r"


URL_SAFE = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%"

URL_PIECES = list(URL_SAFE) + ["{", "}", "{{", "}}", "{path}", "{0}", "é", "漢", "😀", "ß"]


def url_text(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(["http://h.test/", "/", "https://h.test:8443/p?q=1#f", ""]),
        st.lists(pieces, max_size=10).map("".join),
    ).filter(bool)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url_text(st.sampled_from(URL_PIECES)))
@example("http://h.test/it's/{x}/{{y}}/%7B/%s/#frag")
def test_redirect_url_fuzz(value):
    # Mostly URLs that the language accepts: they must come out unchanged.
    check_redirect_url(value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url_text(st.one_of(st.sampled_from(URL_PIECES + NASTY), st.text(max_size=3))))
def test_redirect_url_fuzz_nasty(value):
    # Mostly refused with a diagnostic; never anything else.
    check_redirect_url(value)


@pytest.mark.parametrize("value", NASTY, ids=ascii)
def test_redirect_url_nasty(value):
    check_redirect_url("http://h.test/" + value)


SUBSTITUTED_ROUTE = "/r/{{k}} -> redirect 302 {}\n/ -> status 404\n"


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
@pytest.mark.parametrize("value", NASTY, ids=ascii)
def test_redirect_url_with_substitutions(value, relative):
    """A Location with a capture and ``{path}`` is an expression of the
    URL's text as constants and the run time's quoting of the request's
    parts; a relative one is made safe at run time (``_dc_relative``)."""
    written = value.replace("{", "{{").replace("}", "}}")
    intended = iri_to_uri(value)
    if relative:  # a capture first: the Location may start with "//"
        url, benign_url = "/{k}/" + written + "{path}", "/{k}/benign{path}"
        swaps = {"/benign": "/" + intended}
        pieces = [("text", "/"), ("capture", "part", 2), ("text", "/" + intended), ("path",)]
        want = [("relative", tuple(pieces))]
    else:
        url, benign_url = "http://h.test/" + written + "/{k}{path}", "http://h.test/b/{k}{path}"
        swaps = {"http://h.test/b/": "http://h.test/" + intended + "/"}
        want = [("text", "http://h.test/" + intended + "/"), ("capture", "part", 2), ("path",)]
    code = compile_or_diagnose(SUBSTITUTED_ROUTE.format(quote(url)))
    if code is None:
        return
    benign = benign_module(SUBSTITUTED_ROUTE.format(quote(benign_url)))
    assert_same_structure(code, benign, swaps)
    assert list(redirect_locations(code).values()) == [want]
    status, headers, environ = request(load_module(code).application, "/r/v%C3%A9/rest")
    assert status == 302
    if relative:
        assert headers["Location"] == "/v%25C3%25A9/" + intended + "/rest"
    else:
        assert headers["Location"] == "http://h.test/" + intended + "/v%25C3%25A9/rest"
    assert environ["dispatchc.route"] == "default /r/{k}"


@pytest.mark.parametrize(
    "char", ['"', "\\", " ", "\x00", "\u2028", "\u202e", "\x85", "<"], ids=ascii
)
def test_redirect_url_bad_character_points_at_it(char):
    text = "/ok -> status 204\n/r -> redirect 302 " + quote("http://h.test/" + char) + "\n"
    with pytest.raises(DispatchError) as info:
        compile_text(text)
    assert_diagnosed(info.value, text)
    (d,) = info.value.diagnostics
    assert d.code == "E307"
    start = text.splitlines()[1].index('"') + 1  # 1-based column of the opening quote
    written = len(quote("http://h.test/" + char)) - 2
    assert d.span.line == 2
    assert start < d.span.column <= start + written


# -- paths ---------------------------------------------------------------------

PATH_ROUTE = "/{} -> " + TARGET + ":app\n/ -> status 404\n"
#: A segment written as PATH_INFO holds it (ASCII) is a row of its block's
#: table, which holds only the path; one that is not (non-ASCII) has a
#: route of its own, with its dispatchc.route and SCRIPT_NAME suffix.
PATH_BENIGN = "benign"
PATH_BENIGN_WIDE = "bénign"


@pytest.mark.parametrize(
    "segment",
    [n for n in NASTY if n != "{path}"] + ["a'b\"c\\d", "café", "%2F", "..", "-", "a-b", "$x"],
    ids=ascii,
)
def test_path_segments(segment):
    text = PATH_ROUTE.format(segment)
    code = compile_or_diagnose(text)
    if code is None:
        return
    # The path token ends at whitespace or '#': only what it holds is the path.
    if segment.isascii():
        benign = benign_module(PATH_ROUTE.format(PATH_BENIGN))
        swaps = {"/" + PATH_BENIGN: "/" + segment}  # a leaf route's path
    else:
        benign = benign_module(PATH_ROUTE.format(PATH_BENIGN_WIDE))
        swaps = {
            "default /" + PATH_BENIGN_WIDE: "default /" + segment,  # dispatchc.route
            # SCRIPT_NAME, and the path its block's table holds it by
            "/" + path_info_form(PATH_BENIGN_WIDE): "/" + path_info_form(segment),
        }
    assert_same_structure(code, benign, swaps)
    module = load_module(code)
    status, _, environ = request(module.application, "/" + path_info_form(segment) + "/rest")
    assert status == 200
    assert environ["dispatchc.route"] == "default /" + segment
    assert environ["SCRIPT_NAME"] == "/" + path_info_form(segment)
    assert environ["PATH_INFO"] == "/rest"
    # A neighbour path does not reach it.
    assert request(module.application, "/" + PATH_BENIGN)[0] == 404


# -- host patterns -------------------------------------------------------------

HOST_ROUTE = "host {} {{\n    / -> " + TARGET + ":app\n}}\ndefault {{\n    / -> status 404\n}}\n"
HOST_BENIGN = "benign.test"
IDNA = "<either an error or the IDNA form>"


@pytest.mark.parametrize(
    ("pattern", "ascii_form"),
    [(n + ".test", IDNA) for n in NASTY if n not in ("{path}", "*")]  # "*." is a wildcard
    + [
        ("a'b.test", None),
        ('a"b.test', None),
        ("a\\b.test", None),
        ("'''.test", None),
        ("{x'}.test", None),
        ("{x}}.test", None),
        ("a.test:80'", None),
        ("a.test:8\u202e0", None),
        ("[::1']", None),
        ("a\u202eb.test", None),
        ("a\x00b.test", None),
        ("a%b.test", None),
        ("EXAMPLE.test", "example.test"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("漢.test", "xn--hex.test"),
    ],
    ids=ascii,
)
def test_host_patterns(pattern, ascii_form):
    text = HOST_ROUTE.format(pattern)
    code = compile_or_diagnose(text)
    if ascii_form is IDNA:
        # Either refused, or compiled to the IDNA form of Python's codec
        # (SPEC §2), which is plain ASCII host characters.
        if code is None:
            return
        ascii_form = ".".join(
            label.encode("idna").decode("ascii").lower() for label in pattern.split(".")
        )
        assert set(ascii_form) <= set(string.ascii_lowercase + string.digits + "-_.")
    if code is None:
        assert ascii_form is None, f"{pattern!r} should compile"
        return
    assert ascii_form is not None, f"{pattern!r} compiled"
    benign = benign_module(HOST_ROUTE.format(HOST_BENIGN))
    assert_same_structure(
        code,
        benign,
        # The route's dispatchc.route is made from it when the module is imported.
        {HOST_BENIGN: ascii_form},
    )
    module = load_module(code)
    status, _, environ = request(module.application, "/", host=ascii_form)
    assert status == 200
    assert environ["dispatchc.route"] == ascii_form + " /"
    assert request(module.application, "/", host=HOST_BENIGN)[0] == 404


# -- module and attribute names ------------------------------------------------

REF_ROUTE = "/ -> {}\n"
#: Non-ASCII letters: they continue a Python identifier, so they are valid here.
IDENTIFIER_CHARS = tuple(n for n in NASTY if ("a" + n).isidentifier())
#: After a complete reference, blanks and a comment are fine.
TOKEN_ENDS = (" ", "\t", "\x0c", "#")


@pytest.mark.parametrize(
    "ref",
    [f"{TARGET}{n}:app" for n in NASTY if "\n" not in n and n not in IDENTIFIER_CHARS]
    + [
        f"{TARGET}:app{n}"
        for n in NASTY
        if "\n" not in n and n not in IDENTIFIER_CHARS and n not in TOKEN_ENDS
    ]
    + [f"{TARGET}:f{n}" for n in ("(", "('x')", "(x=1)", "(1,)", '("x"')]
    + [
        "os;import:app",
        "a..b:app",
        ".a:app",
        "a.:app",
        "1a:app",
        "class:app",
        "a.def:app",
        "a:None",
        "a:app.",
        "a:b.c.1",
        "a:__import__('os')",
        "a\u2028:app",
        "a:app\u2029",
        "a\u202e:app",
        "a:b\x00",
    ],
    ids=ascii,
)
def test_invalid_references(ref):
    text = REF_ROUTE.format(ref)
    with pytest.raises(DispatchError) as info:
        compile_text(text)
    assert_diagnosed(info.value, text)


@pytest.mark.parametrize(
    ("module", "attr"),
    [
        ("_dc_injé_mod", "app"),
        ("_dc_inj_pkg.sub", "obj.wsgi_app"),
        ("_dc_inj_漢", "应用"),
        ("_dc_inj_ﬁ", "ﬁ"),  # NFKC-normalised by the Python parser, not by importlib
        ("_dc_inj_match", "type"),  # soft keywords are names
    ],
)
def test_unusual_valid_references(module, attr):
    code = compile_or_diagnose(f"/ -> {module}:{attr}\n")
    assert code is not None
    benign = benign_module("/ -> benign_mod:app\n")
    assert skeleton(code) == skeleton(benign)
    assert loaded_modules(code) == {module}
    # Running it imports exactly that module name and takes that attribute.
    parts = module.split(".")
    made: list[str] = []
    leaf_app = App(("reached",))
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        sys.modules[name] = types.ModuleType(name)
        made.append(name)
    obj: Any = sys.modules[module]
    *owners, last = attr.split(".")
    for owner in owners:
        setattr(obj, owner, types.SimpleNamespace())
        obj = getattr(obj, owner)
    setattr(obj, last, leaf_app)
    try:
        status, _, environ = request(load_module(code).application, "/")
        assert status == 200 and environ["test.args"] == ("reached",)
    finally:
        for name in made:
            sys.modules.pop(name, None)


# -- the hand case -------------------------------------------------------------


def test_hand_case_quotes_backslashes_and_braces():
    argument = 'it\'s "quoted" C:\\dir\\ {{x}} \'\'\' """ # %s \u2028 \u202e end'
    url = "http://h.test/it's/{{x}}/%7B?a='b'#frag"
    text = (
        f"use made = {TARGET}:f({quote(argument)}, k, 7)\n"
        f'/r/{{k}} -> redirect 308 "{url}/{{k}}/{{path}}"\n'
        f"/f/{{k}} -> made\n"
        "/ -> status 404\n"
    )
    code = compile_text(text)
    constants = string_constants(code)
    # The argument is one constant, braces and all (only URLs read {{ }}).
    assert argument in constants
    (returned,) = [
        stmt.value
        for n in ast.parse(code).body
        if isinstance(n, ast.FunctionDef) and n.name.startswith("_dc_route_")
        for stmt in n.body
        if isinstance(stmt, ast.Assign) and getattr(stmt.targets[0], "id", "") == "key"
    ]
    assert isinstance(returned, ast.Tuple)
    assert isinstance(returned.elts[0], ast.Constant) and returned.elts[0].value == argument
    assert isinstance(returned.elts[2], ast.Constant) and returned.elts[2].value == 7
    # The URL's text, with {{ }} read as braces, is one constant of the
    # Location expression; the capture and {path} are quoted at run time.
    (location,) = redirect_locations(code).values()
    assert location == [
        ("text", "http://h.test/it's/{x}/%7B?a='b'#frag/"),
        ("capture", "part", 2),
        ("text", "/"),
        ("path",),
    ]
    # No comment or docstring grew a statement: the top level is only
    # imports, defs, classes, assignments and the module docstring.
    for node in ast.parse(code).body:
        allowed = ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef | ast.Assign
        assert isinstance(node, allowed | ast.Expr), ast.dump(node)
        if isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant)  # only the docstring

    module = load_module(code)
    status, _, environ = request(module.application, "/f/v")
    assert status == 200
    assert environ["test.args"] == (argument, "v", 7)
    status, headers, _ = request(module.application, "/r/v/rest/of")
    assert status == 308
    assert headers["Location"] == "http://h.test/it's/{x}/%7B?a='b'#frag/v//rest/of"


# -- what the generated module imports -------------------------------------------

_RICH = f"""
use frontend = {TARGET}:app
use later = lazy_target_mod.sub:make(k) lazy
host example.com, www.example.com {{
    /         -> frontend
    /old      -> redirect 301 "https://example.com/new{{path}}"
    /f/{{k}}   -> {TARGET}:f(k, "x") cache 3
    /l/{{k}}   -> later
}}
host {{sub}}.example.com {{
    / -> other_target_mod:factory(sub)
}}
default {{
    / -> status 410
}}
"""


def loaded_modules(code: str) -> set[str]:
    """Module names of every _dc_load / _DcLazy call outside the runtime.

    At top level these take string constants; inside a def or class only
    ``_DcLazy`` may call ``_dc_load`` (with the name it was given).
    """
    tree = ast.parse(code)
    found = set()
    for stmt in tree.body:
        inside = isinstance(stmt, ast.FunctionDef | ast.ClassDef)
        for node in ast.walk(stmt):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_dc_load", "_DcLazy")
            ):
                continue
            if inside:
                assert isinstance(stmt, ast.ClassDef) and stmt.name == "_DcLazy", ast.dump(stmt)
                continue
            assert isinstance(node.args[0], ast.Constant), ast.dump(node)
            assert isinstance(node.args[0].value, str)
            found.add(node.args[0].value)
    return found


def check_imports(code: str, targets: set[str]) -> None:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in sys.stdlib_module_names, alias.name
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None
            assert node.module.split(".")[0] in sys.stdlib_module_names, node.module
        elif isinstance(node, ast.Name):
            # No dynamic code or import other than through _dc_load.
            assert node.id not in ("eval", "exec", "compile", "__import__"), node.id
    # importlib.import_module is called only inside _dc_load, with its argument.
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.ClassDef | ast.Module):
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "import_module"
                    and func is not tree
                ):
                    assert isinstance(func, ast.FunctionDef) and func.name == "_dc_load"
    assert loaded_modules(code) == targets


def test_generated_module_imports_only_stdlib_and_targets():
    check_imports(compile_text(_RICH), {TARGET, "lazy_target_mod.sub", "other_target_mod"})


def test_sample_imports_only_stdlib_and_targets():
    text = (SAMPLES / "flask_dispatching.disp").read_text(encoding="utf-8")
    check_imports(compile_text(text), {"frontend_app", "backend_app", "myapplication"})


def test_adversarial_input_adds_no_import():
    sneaky = quote('import os; __import__("os")')
    text = (
        f"/a -> {TARGET}:f({sneaky})\n"
        f'/b -> redirect 302 "/{{{{__import__}}}}"\n'
        f"/import -> {TARGET}:app\n"
    )
    check_imports(compile_text(text), {TARGET})


# -- the source file's name ----------------------------------------------------


_names = itertools.count()


@pytest.mark.parametrize(
    "source_name",
    ["coding=latin-1.disp", "x -*- coding: latin-1 -*- .disp", "y\nprint('INJECTED')\n#.disp"],
    ids=ascii,
)
def test_source_name_cannot_change_the_module(tmp_path, source_name):
    """The header names the source file; the name must not act as code or as
    an encoding declaration (lines 1-2 of a Python file, PEP 263)."""
    from dispatchc.compiler import load
    from dispatchc.targets import Job, get

    raw = f'/ -> {TARGET}:f("é")\n'.encode()
    result = load("routes.disp", raw)
    code = get("wsgi").emit(Job(result.plan, result.source, source_name))
    assert skeleton(code) == skeleton(compile_text(raw.decode()))
    # Import it from a file, as a WSGI server does: the source is decoded
    # with the encoding declared in its first two lines, if any.
    name = f"_dc_named_{next(_names)}"
    path = tmp_path / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    status, _, environ = request(module.application, "/")
    assert status == 200 and environ["test.args"] == ("é",)
