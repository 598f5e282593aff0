"""Fuzzing the compiler (issue 6): whatever the bytes of a routing file,
``analyse``, ``dispatchc build`` and ``dispatchc lint`` end with an output or
with diagnostics that have a location; never a traceback, a hang or a
partially written output. And no text in a routing file reaches the
generated module except as constants equal to what the file says.

The generators are in ``tests/fuzz_strategies.py``; how to run a long fuzz
session is in ``docs/fuzzing.md`` (``DISPATCHC_FUZZ=long``). In the default
profile every fuzz test runs a fixed, small number of examples.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import keyword
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from dispatchc import compiler
from dispatchc.cli import main
from dispatchc.compiler import Result, analyse, load_table
from dispatchc.diagnostics import CODES, ERROR, render_text
from dispatchc.errors import DispatchError

from .fuzz_strategies import (
    LONG,
    BlockSpec,
    HostSpec,
    RouteSpec,
    Slot,
    SlotRef,
    TargetSpec,
    Template,
    adversarial_values,
    fuzz_settings,
    injection_templates,
    routing_files,
    splits_token,
    stub_modules,
    target_modules,
)
from .helpers import call, constants, environ, load_module, skeleton

#: Hang detector, not a timing test: one example of any fuzz test.
EXAMPLE_SECONDS = 20
#: The 100,000-line files.
BIG_SECONDS = 120

DIAGNOSTIC_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (error|warning)\[(?P<code>[EW]\d{3})\]: "
)


# -- helpers ---------------------------------------------------------------------


class Hang(Exception):
    """An example ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "example") -> Iterator[None]:
    """Fail an example that runs too long: interrupt it with SIGALRM (main
    thread only), and check the elapsed time in any case."""
    use_alarm = (
        hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    previous = None
    if use_alarm:

        def on_alarm(signum: int, frame: Any) -> None:
            raise Hang(f"{what} still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"{what} took {elapsed:.1f} s (limit {seconds} s)"


def shown_ok(text: str) -> bool:
    """No control character, bidi control or line separator other than '\\n'
    (and '\\t', which excerpts keep so that the caret lines up)."""
    return all(c in "\n\t" or c.isprintable() for c in text)


def line_count(raw: bytes) -> int:
    return raw.count(b"\n") + 1


def check_result(result: Result, raw: bytes) -> None:
    """Every diagnostic has a known code and a location inside the file, and
    renders as printable text."""
    lines = line_count(raw)
    for d in result.diagnostics:
        assert d.code in CODES, d
        assert 1 <= d.span.line <= lines + 1, (d, lines)
        assert d.span.column >= 1, d
        # Lines as the parser counts them: a bare CR is not a line end.
        physical = result.source.text.split("\n")
        width = len(physical[d.span.line - 1]) if d.span.line <= len(physical) else 0
        assert d.span.column <= width + 2, (d, width)
        text = render_text(result.source, d)
        assert shown_ok(text), ascii(text)
        assert text.startswith(f"{result.source.path}:{d.span.line}:{d.span.column}: ")
    if result.ok:
        assert result.table is not None


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``dispatchc.cli.main(argv)`` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def request(application: Any, host: str, path: str) -> tuple[str, dict[str, Any]]:
    env = environ(host, path, SERVER_NAME="localhost")
    response = call(application, env)
    assert re.fullmatch(r"[1-5]\d\d .*", response.status_line), response
    return response.status_line, env


@contextlib.contextmanager
def generated_module(code: str, table: Any) -> Iterator[Any]:
    """Execute a generated module with stub targets installed (until the
    block ends: ``lazy`` targets are imported by requests). Yields None when
    a target is a standard-library module (its attributes are real and may
    not exist)."""
    modules = target_modules(table)
    if any(m.split(".")[0] in sys.stdlib_module_names for m in modules):
        yield None
        return
    with stub_modules(modules):
        yield load_module(code)


# -- every input: analyse, build, lint ---------------------------------------------------


RAW_EXAMPLES = [
    b"",
    b"\xef\xbb\xbf",
    b"\x00",
    b"/ -> m:a\x00\n",
    b"/ -> m:a\r/b -> m:b\r",
    b"host a.test {\r\n    / -> m:a\r\n}\r\n",
    b'/ -> m:f("\xff")\n',
    b"/a -> m:a\n/\xe2\x80\xa8b -> m:b\n",
    '/ -> m:f("\u202e\u2066") # \u202e\n'.encode(),
    "\ufeff\ufeff/ -> m:a\n".encode(),
    b"host a.test {\n    / -> m:a\n",
    b"{" * 3000 + b"\n",
    b'/ -> redirect 301 "\\',
    b"/ -> m:f(" + b"9" * 4301 + b")\n",
]


@fuzz_settings(600)
@given(routing_files())
def test_analyse_never_raises(raw: bytes) -> None:
    """``analyse`` returns a result, whatever the bytes, with diagnostics
    that have a code, a location and a printable rendering."""
    with time_limit(EXAMPLE_SECONDS, "analyse"):
        result = analyse("fuzz.disp", raw)
    check_result(result, raw)
    event(
        "ok" if result.ok else " ".join(sorted({d.code for d in result.diagnostics if d.is_error}))
    )


for _raw in RAW_EXAMPLES:
    test_analyse_never_raises = example(_raw)(test_analyse_never_raises)


#: A second input for builds of two files: always compiles.
COMPANION = b"use site = companion_app:application\n/ -> site\n/api -> m:make() lazy\n"


def check_build_and_lint(raw: bytes, directory: Path, sentinel: bool, mode: str) -> None:
    """``mode``: ``beside`` (routes.py next to the input), ``dir`` (``-o DIR``)
    or ``pair`` (the input and a valid companion, ``-o DIR``: one bad input
    means nothing is written, not even the companion's output)."""
    src = directory / "routes.disp"
    src.write_bytes(raw)
    argv = ["build", str(src)]
    outs = [directory / "routes.py"]
    if mode in ("dir", "pair"):
        (directory / "out").mkdir()
        outs = [directory / "out" / "routes.py"]
        if mode == "pair":
            (directory / "companion.disp").write_bytes(COMPANION)
            argv.append(str(directory / "companion.disp"))
            outs.append(directory / "out" / "companion.py")
        argv += ["-o", str(directory / "out")]
    before = b"# Generated by dispatchc 0.0.0: the committed output\n" if sentinel else None
    if before is not None:
        for out in outs:
            out.write_bytes(before)
    existing = files_under(directory)
    written = {str(out.relative_to(directory)) for out in outs}

    result = analyse(str(src), raw)
    check_result(result, raw)

    code, stdout, stderr = run_cli(argv)
    assert "Traceback" not in stderr, stderr
    assert shown_ok(stderr), ascii(stderr)
    assert code == (0 if result.ok else 1), (code, stderr)
    if code == 0:
        generated = outs[0].read_text(encoding="utf-8")
        compile(generated, str(outs[0]), "exec")
        assert result.table is not None
        with generated_module(generated, result.table) as module:
            if module is not None:
                request(module.application, "example.com", "/")
        assert files_under(directory) == existing | written
        for out in outs:
            assert out.read_bytes() != before
    else:
        heads = [m for m in map(DIAGNOSTIC_LINE.match, stderr.splitlines()) if m]
        assert heads, stderr
        for m in heads:
            assert m["path"] == str(src)
            assert m["code"] in CODES
            assert 1 <= int(m["line"]) <= line_count(raw) + 1
            assert int(m["col"]) >= 1
        inputs = "an input has" if mode != "pair" else "inputs have"
        assert stderr.rstrip("\n").endswith(f"dispatchc: nothing written ({inputs} errors)")
        for out in outs:
            if before is None:
                assert not out.exists(), f"a failed build wrote {out.name}"
            else:
                assert out.read_bytes() == before, f"a failed build changed {out.name}"
        # Nothing else either: no temporary file left behind.
        assert files_under(directory) == existing

    code, stdout, stderr = run_cli(["lint", "--format", "json", str(src)])
    assert "Traceback" not in stderr, stderr
    rows = json.loads(stdout)
    assert isinstance(rows, list)
    for row in rows:
        assert row["code"] in CODES, row
        assert row["severity"] == CODES[row["code"]][0], row
        assert row["file"] == str(src)
        assert 1 <= row["line"] <= line_count(raw) + 1, row
        assert row["column"] >= 1, row
        assert shown_ok(row["message"]) and shown_ok(row["help"] or ""), row
    errors = any(row["severity"] == ERROR for row in rows)
    assert code == (1 if errors else 0), (code, rows)
    assert errors == (not result.ok), rows

    code, stdout, stderr = run_cli(["lint", "--format", "github", str(src)])
    assert "Traceback" not in stderr, stderr
    annotations = stdout.splitlines()
    assert len(annotations) == len(rows), stdout
    for line in annotations:
        assert re.match(r"::(error|warning) file=[^,]*,line=\d+,col=\d+,title=[EW]\d{3}::", line), (
            line
        )
        assert shown_ok(line), ascii(line)


@fuzz_settings(200)
@given(routing_files(), st.booleans(), st.sampled_from(["beside", "beside", "dir", "pair"]))
@example(b"/ -> m:a\n", True, "pair")
@example(b"host a.test {\n/ -> m:a\n", True, "pair")
@example(b"/ -> m:a\n/ -> m:b\n", True, "dir")
@example(b"/\x00 -> m:a\n", False, "beside")
def test_build_and_lint(raw: bytes, sentinel: bool, mode: str) -> None:
    """``build``: exit 0 and an output that compiles and imports, or exit 1,
    diagnostics on stderr and the previous output (or none) untouched, and no
    temporary file left. ``lint``: JSON (and GitHub annotations) that agree
    with the exit status."""
    with tempfile.TemporaryDirectory() as tmp, time_limit(EXAMPLE_SECONDS, "build and lint"):
        check_build_and_lint(raw, Path(tmp), sentinel, mode)


# -- the same through the real command --------------------------------------------------

SUBPROCESS_INPUTS = {
    "nul": b"host a.test {\n    / -> m:a\x00\n}\n",
    "invalid-utf8": b'/ -> m:f("\xc3\x28")\n',
    "cr-line-ends": b"use a = m:a\r/ -> a\r/b -> m:b\r",
    "bidi-and-separators": '/x -> m:f("\u202e") # \u2066\n/\u2028y -> m:b\n'.encode(),
    "huge-int": b"/ -> status " + b"4" * 5000 + b"\n",
    "valid": b"host {s}.example.com {\n    / -> m:make(s)\n}\n/ -> status 404\n",
}


@pytest.mark.parametrize("name", sorted(SUBPROCESS_INPUTS))
def test_subprocess(tmp_path: Path, name: str) -> None:
    """A few inputs through ``python -m dispatchc``: exit 0 or 1, never a
    traceback, within a time limit."""
    raw = SUBPROCESS_INPUTS[name]
    src = tmp_path / "routes.disp"
    src.write_bytes(raw)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "dispatchc", "build", str(src)],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    err = build.stderr.decode("utf-8", "replace")
    assert build.returncode in (0, 1), err
    assert "Traceback" not in err, err
    assert (tmp_path / "routes.py").exists() == (build.returncode == 0)
    assert files_under(tmp_path) == {"routes.disp"} | (
        {"routes.py"} if build.returncode == 0 else set()
    )
    lint = subprocess.run(
        [sys.executable, "-m", "dispatchc", "lint", "--format", "json", str(src)],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert "Traceback" not in lint.stderr.decode("utf-8", "replace"), lint.stderr
    rows = json.loads(lint.stdout.decode("utf-8"))
    assert lint.returncode == (1 if any(r["severity"] == ERROR for r in rows) else 0)
    assert (lint.returncode == 1) == (build.returncode == 1)


# -- big and deep files ------------------------------------------------------------


def build_in_process(raw: bytes, directory: Path, seconds: float) -> tuple[int, str, Path]:
    src = directory / "routes.disp"
    src.write_bytes(raw)
    out = directory / "routes.py"
    with time_limit(seconds, "build"):
        result = analyse(str(src), raw)
        check_result(result, raw)
        code, _, stderr = run_cli(["build", str(src)])
    assert "Traceback" not in stderr, stderr
    assert code == (0 if result.ok else 1), stderr[-2000:]
    assert out.exists() == (code == 0)
    assert files_under(directory) == {"routes.disp"} | ({"routes.py"} if code == 0 else set())
    if code == 0:
        compile(out.read_text(encoding="utf-8"), str(out), "exec")
    return code, stderr, out


@pytest.mark.slow
def test_100000_comment_lines(tmp_path: Path) -> None:
    raw = b"# a comment line\n" * 50_000 + b"\r\n" * 50_000 + b"/ -> m:a\n"
    code, _, _ = build_in_process(raw, tmp_path, BIG_SECONDS)
    assert code == 0
    with time_limit(BIG_SECONDS, "lint"):
        code, stdout, _ = run_cli(["lint", "--format", "json", str(tmp_path / "routes.disp")])
    assert code == 0 and json.loads(stdout) == []


@pytest.mark.slow
def test_many_routes(tmp_path: Path) -> None:
    """100,000 routes in the long profile; 20,000 by default (about 4 s)."""
    n = 100_000 if LONG else 20_000
    raw = "".join(f"/p{i} -> m:a\n" for i in range(n)).encode()
    code, _, out = build_in_process(raw, tmp_path, BIG_SECONDS)
    assert code == 0
    with generated_module(out.read_text(encoding="utf-8"), load_table("r.disp", raw)) as module:
        _, environ = request(module.application, "example.com", f"/p{n - 1}/x")
    assert environ["fuzz.target"] == ("m", "a")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (f"/p{n - 1}", "/x")


def _deep(n: int) -> dict[str, bytes]:
    caps = [f"c{i}" for i in range(n)]
    digits = max(n, 5000)
    return {
        "open-braces": b"{" * n + b"\n",
        "host-open-braces": b"host a.test " + b"{" * n + b"\n",
        "close-braces": b"host a.test {\n" + b"}" * n + b"\n",
        "open-parens": b"/ -> m:f" + b"(" * n + b"\n",
        "literal-segments": ("/" + "/".join(["a"] * n) + " -> m:a\n").encode(),
        "capture-segments": ("/" + "/".join("{" + c + "}" for c in caps) + " -> m:a\n").encode(),
        "capture-segments-factory": (
            "/" + "/".join("{" + c + "}" for c in caps) + f" -> m:f({', '.join(caps)})\n"
        ).encode(),
        "capture-segments-redirect": (
            "/"
            + "/".join("{" + c + "}" for c in caps)
            + ' -> redirect 302 "/'
            + "/".join("{" + c + "}" for c in caps)
            + '"\n'
        ).encode(),
        "host-literal-labels": ("host " + ".".join(["a"] * n) + ".test {\n/ -> m:a\n}\n").encode(),
        "host-capture-labels": (
            "host "
            + ".".join("{" + c + "}" for c in caps)
            + f".test {{\n/ -> m:f({', '.join(caps)})\n}}\n"
        ).encode(),
        "factory-int-args": ("/ -> m:f(" + ", ".join(["1"] * n) + ")\n").encode(),
        "factory-string-args": ("/ -> m:f(" + ", ".join(['"s"'] * n) + ")\n").encode(),
        "host-patterns": (
            "host " + ", ".join(f"h{i}.test" for i in range(n)) + " {\n/ -> m:a\n}\n"
        ).encode(),
        "dotted-names": ("/ -> " + ".".join(["m"] * n) + ":" + ".".join(["a"] * n) + "\n").encode(),
        "redirect-path-parts": ('/ -> redirect 302 "' + "{path}" * n + '"\n').encode(),
        "long-comment": b"# " + b"x" * (200 * n) + b"\n/ -> m:a\n",
        "long-string": b'/ -> m:f("' + b"x" * (200 * n) + b'")\n',
        "many-uses": "".join(f"use u{i} = m:a{i}\n/p{i} -> u{i}\n" for i in range(n)).encode(),
        # Past int()'s limit of 4,300 digits.
        "huge-int-arg": b"/ -> m:f(" + b"9" * digits + b")\n",
        "huge-cache": b"/ -> m:f() cache " + b"9" * digits + b"\n",
        "huge-status": b"/ -> status " + b"9" * digits + b"\n",
        "huge-redirect": b"/ -> redirect " + b"3" * digits + b' "/x"\n',
        "huge-port": b"host a.test:" + b"9" * digits + b" {\n}\n",
    }


@pytest.mark.parametrize("shape", sorted(_deep(1)))
def test_deep_and_wide(tmp_path: Path, shape: str) -> None:
    """The grammar has no nesting: 'deep' is thousands of one thing. No
    RecursionError (in the compiler or in compiling its output), no other
    exception: an output or a diagnostic."""
    raw = _deep(20_000 if LONG else 3000)[shape]
    build_in_process(raw, tmp_path, EXAMPLE_SECONDS * 3)


# -- code injection: adversarial text in every string-bearing position ---------------------

HOST_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
URL_REFUSED = set(' "<>\\^`|')


def host_form(label: str) -> str:
    """A literal host label as the SPEC compiles it: lower-case, IDNA."""
    return label.lower() if label.isascii() else label.encode("idna").decode("ascii")


def latin1_form(text: str) -> str:
    """How a server puts text in PATH_INFO: UTF-8 bytes decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def iri_form(text: str) -> str:
    return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def benign_value(slot: Slot, adversarial: str) -> str:
    """The reference value: same marker, a benign tail whose forms have the
    shape of the adversarial value's (an 'xn--' host label or not)."""
    if slot.kind == "host":
        try:
            idna = host_form(adversarial).startswith("xn--")
        except UnicodeError:
            idna = False
        return slot.marker + ("é" if idna else "b")
    if slot.kind == "seg":
        # A literal route written as PATH_INFO holds it (ASCII) is a row of
        # its parent's table; any other has a route of its own, whose raw
        # and PATH_INFO forms differ.
        return slot.marker + ("b" if adversarial.isascii() else "é")
    return slot.marker + "b"


def forms(slot: Slot, value: str) -> list[str]:
    if slot.kind == "host":
        return [host_form(value)]
    if slot.kind == "seg":
        return [value, latin1_form(value)]
    if slot.kind == "url":
        return [iri_form(value)]
    return [value]


def refusal_reason(t: Template, values: list[str]) -> str | None:
    """Why the SPEC says this file must not compile, if a slot says so."""
    for slot, value in zip(t.slots, values, strict=True):
        if slot.kind == "host":
            try:
                form = host_form(value)
            except UnicodeError:
                return f"host label {value!r} has no IDNA form"
            if not set(form) <= HOST_CHARS:
                return f"host label {value!r} is {form!r}"
        elif slot.kind == "ident":
            if not all(p.isidentifier() and not keyword.iskeyword(p) for p in value.split(".")):
                return f"{value!r} is not a dotted identifier"
        elif slot.kind == "seg":
            if "{" in value or "}" in value:
                return f"path segment {value!r} has a brace"
        elif slot.kind == "url":
            bad = [c for c in value if c in URL_REFUSED or not c.isprintable()]
            if bad:
                return f"URL text {value!r} holds {bad[0]!r}"
    return None


def compile_source(text: str) -> str:
    path = Path("routes.disp")
    return compiler.compile_source(path, text.encode("utf-8"), path)


def substitution(t: Template, benign: list[str], adversarial: list[str]):  # type: ignore[no-untyped-def]
    """A function mapping each benign constant to the constant expected in
    the adversarial module: every form of every benign slot value replaced by
    the same form of the adversarial one."""
    table: dict[str, str] = {}
    for slot, b, a in zip(t.slots, benign, adversarial, strict=True):
        for fb, fa in zip(forms(slot, b), forms(slot, a), strict=True):
            table[fb] = fa
    if not table:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: table[m.group(0)], text)


def assert_plain_text(code: str) -> None:
    """Lines end only with '\\n' and every character is printable."""
    lines = code.split("\n")[:-1]
    assert code.splitlines() == lines
    for line in lines:
        assert line.isprintable(), ascii(line)


def loaded_modules(code: str) -> list[str]:
    """The first argument of every top-level ``_dc_load`` / ``_DcLazy`` call,
    which must be a string constant."""
    found = []
    for stmt in ast.parse(code).body:
        if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "_dc_load",
                "_DcLazy",
            ):
                assert isinstance(node.args[0], ast.Constant), ast.dump(node)
                assert isinstance(node.args[0].value, str)
                found.append(node.args[0].value)
    return found


def check_weak(code: str) -> None:
    """What holds for any generated module: plain text, only standard-library
    imports, targets loaded by constant names, no dynamic code."""
    assert_plain_text(code)
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in sys.stdlib_module_names for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and (node.module or "").split(".")[0] in sys.stdlib_module_names
        elif isinstance(node, ast.Name):
            assert node.id not in ("eval", "exec", "compile", "__import__"), node.id
    loaded_modules(code)


def host_request(t: Template, host: HostSpec, values: list[str]) -> tuple[str, str, dict[int, str]]:
    """(Host header, the pattern's ASCII text, captured values by slot)."""
    labels = ".".join(host_form(values[i]) for i in host.labels) + ".test"
    port = ":8080" if host.kind == "port" else ""
    if host.kind == "capture":
        assert host.capture is not None
        return (
            f"hv.{labels}{port}",
            f"{{{values[host.capture]}}}.{labels}{port}",
            {host.capture: "hv"},
        )
    if host.kind == "wildcard":
        return f"w1.w2.{labels}", f"*.{labels}", {}
    return labels + port, labels + port, {}


def path_request(route: RouteSpec, values: list[str]) -> tuple[str, str, dict[int, str]]:
    """(PATH_INFO, the path as written, captured values by slot)."""
    if not route.segments:
        return "/", "/", {}
    info, text, caps = "", "", {}
    for position, (kind, slot) in enumerate(route.segments, 1):
        if kind == "lit":
            info += "/" + latin1_form(values[slot])
            text += "/" + values[slot]
        else:
            info += f"/pv{position}"
            text += "/{" + values[slot] + "}"
            caps[slot] = f"pv{position}"
    return info, text, caps


def expected_target(
    t: Template, target: TargetSpec, values: list[str], caps: dict[int, str]
) -> Any:
    """What the stub target records, or the status for status and redirect."""
    if target.kind == "use":
        assert target.use is not None
        return expected_target(t, t.uses[target.use], values, caps)
    if target.kind in ("status", "redirect"):
        return target.code
    module = ".".join(values[i] for i in target.module)
    attr = ".".join(values[i] for i in target.attr).split(".")
    label: tuple[Any, ...] = (module, *attr)
    if target.kind == "factory":
        args = tuple(
            values[v] if kind == "str" else v if kind == "int" else caps[v]
            for kind, v in target.args
        )
        label = (*label, ("called", args))
    return label


def check_requests(t: Template, values: list[str], module: Any) -> None:
    """Each route of each host pattern handles a request aimed at it, with
    the intended route name, target and factory arguments."""
    has_hosts = any(b.hosts for b in t.blocks)
    for block in t.blocks:
        hosts: list[tuple[str, str, dict[int, str]]] = (
            [host_request(t, h, values) for h in block.hosts]
            if block.hosts
            else [("nomatch.invalid" if has_hosts else "any.invalid", "default", {})]
        )
        for header, pattern_text, host_caps in hosts:
            for route in block.routes:
                info, path_text, path_caps = path_request(route, values)
                status, environ = request(module.application, header, info)
                assert environ["dispatchc.route"] == f"{pattern_text} {path_text}"
                want = expected_target(t, route.target, values, {**host_caps, **path_caps})
                if isinstance(want, int):
                    assert status.startswith(str(want)), (status, want)
                else:
                    assert environ["fuzz.target"] == want


def check_injection(t: Template, adversarial: list[str]) -> str:
    benign = [benign_value(s, v) for s, v in zip(t.slots, adversarial, strict=True)]
    benign_text = t.render(benign)
    try:
        benign_code = compile_source(benign_text)
    except DispatchError as exc:  # pragma: no cover - a generator bug
        raise AssertionError(f"the benign file does not compile:\n{benign_text}\n{exc}") from None
    text = t.render(adversarial)
    try:
        code = compile_source(text)
    except DispatchError as exc:
        raw = text.encode("utf-8")
        check_result(Result(exc.source, None, exc.diagnostics), raw)
        assert exc.diagnostics and all(d.is_error for d in exc.diagnostics)
        return "refused"
    check_weak(code)
    if any(splits_token(s.kind, v) for s, v in zip(t.slots, adversarial, strict=True)):
        # The text ends a token early or splits it: the file legitimately
        # says something else. It compiled, and the weak checks hold.
        return "compiled (tokens split)"
    reason = refusal_reason(t, adversarial)
    assert reason is None, f"compiled although {reason}:\n{text}"
    # Same structure as the benign module (compiler-owned names, which come
    # from the text, renamed by order of first appearance)...
    assert skeleton(code) == skeleton(benign_code), text
    # ...and each constant is the benign one with every slot's value swapped
    # for the intended value (in the form the SPEC gives it).
    swap = substitution(t, benign, adversarial)
    for b, a in zip(constants(benign_code), constants(code), strict=True):
        if isinstance(b, str):
            assert a == swap(b), (b, a)
        elif type(b) is not int:
            assert a == b, (b, a)
    # Running it: every route is reached as intended.
    modules = {
        ".".join(adversarial[i] for i in target.module)
        for target in _all_targets(t)
        if target.module
    }
    with stub_modules(modules):
        check_requests(t, adversarial, load_module(code))
    return "compiled"


def _all_targets(t: Template) -> list[TargetSpec]:
    return [r.target for b in t.blocks for r in b.routes] + list(t.uses.values())


@fuzz_settings(200)
@given(st.data())
def test_injection_whole_files(data: st.DataObject) -> None:
    """Adversarial text in every string-bearing position of whole valid files
    (host labels, path segments, capture and use names, module and attribute
    names, string arguments, redirect URLs): refused with a diagnostic, or
    compiled to a module with the structure of the same file with benign
    text, whose every constant is the intended value."""
    t = data.draw(injection_templates(), label="template")
    values = data.draw(adversarial_values(t), label="values")
    with time_limit(EXAMPLE_SECONDS, "injection"):
        event(check_injection(t, values))


def test_injection_hand_case() -> None:
    """One file with a nasty value in every kind of slot that the SPEC
    accepts; it must compile and pass every check."""
    t = Template()
    mod, attr, arg, seg, cap, host, url = (
        t.new("ident"),
        t.new("ident"),
        t.new("str"),
        t.new("seg"),
        t.new("ident"),
        t.new("host"),
        t.new("url"),
    )
    factory = TargetSpec("factory", (mod,), (attr,), (("str", arg), ("cap", cap), ("int", 7)))
    redirect = TargetSpec(
        "redirect", args=(("fixed", "https://h.test/"), ("text", url), ("path", None)), code=308
    )
    r1 = RouteSpec((("lit", seg), ("cap", cap)), factory)
    r2 = RouteSpec((), redirect)
    t.blocks.append(BlockSpec((HostSpec("exact", (host,)),), (r1, r2)))
    t.lines = [
        ["host ", *_host_line(host), " {"],
        [
            "    /",
            _ref(seg),
            "/{",
            _ref(cap),
            "} -> ",
            _ref(mod),
            ":",
            _ref(attr),
            "(",
            _ref(arg, "quoted"),
            ", ",
            _ref(cap),
            ", 7)",
        ],
        ['    / -> redirect 308 "https://h.test/', _ref(url, "url"), '{path}"'],
        ["}"],
    ]
    values = [s.marker for s in t.slots]
    values[mod] += "é_漢"
    values[attr] += "ß"
    values[arg] += "'\"\\'''\"\"\"#{x}%s\u2028\u2029\x85\x00\u202e\ufeff');import os#"
    values[seg] += "'\"%é\\;(),=:@!"
    values[cap] += "ª"
    values[host] += "Bücher"
    values[url] += "'{x}}%7B?a=é&b=(1)#frag"
    assert check_injection(t, values) == "compiled"


def _ref(index: int, how: str = "plain") -> SlotRef:
    return SlotRef(index, how)


def _host_line(slot: int) -> list[Any]:
    return [_ref(slot), ".test"]
