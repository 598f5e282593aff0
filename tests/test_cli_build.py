"""``dispatchc build`` (SPEC §5 and §6): outputs, exit codes, diagnostics,
atomic writes, ``--check``, ``--version`` and reproducible output.

Most cases call ``dispatchc.cli.main`` in-process; a few go through a real
subprocess (``python -m dispatchc`` and the installed ``dispatchc`` script)
so that the entry points themselves are covered.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import dispatchc
from dispatchc.cli import main

from .conftest import SAMPLES

TIMEOUT = 60

GOOD = (SAMPLES / "flask_dispatching.disp").read_text(encoding="utf-8")

OTHER = """\
use site = website.wsgi:application
/        -> site
/api     -> api.wsgi:application
/gone    -> status 410
"""

# Line 4, column 5: the second "/api" in the block.
DUPLICATE = """\
use a = pkg.a:application
host example.com {
    /api -> a
    /api -> pkg.b:application
    / -> a
}
"""

SYNTAX = """\
host example.com {
    / -> frontend_app:application
    /x ->
}
"""

DIAGNOSTIC_HEAD = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>E\d{3})\]: (?P<message>.+)$"
)


# -- helpers -----------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` as the console script would run it: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors, --version
        code = 0 if exc.code is None else exc.code
    captured = capsys.readouterr()
    assert isinstance(code, int), f"exit status {code!r} is not an int"
    return code, captured.out, captured.err


def run_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def console_script() -> Path:
    """The ``dispatchc`` script installed next to this interpreter (or on PATH)."""
    script = Path(sys.executable).parent / "dispatchc"
    if script.exists():
        return script
    found = shutil.which("dispatchc")
    if found is None:
        pytest.skip("the dispatchc console script is not installed")
    return Path(found)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``directory``: bytes, inode and mtime (ns)."""
    out = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(directory))] = (path.read_bytes(), st.st_ino, st.st_mtime_ns)
    return out


def temp_leftovers(directory: Path) -> list[str]:
    """Files that look like an interrupted atomic write."""
    return sorted(
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and (p.name.startswith(".") or p.suffix in (".tmp", ".temp", ".part"))
    )


def assert_no_traceback(err: str) -> None:
    assert "Traceback" not in err, err
    assert 'File "' not in err, err


def check_diagnostic(err: str, path: str, line: int, col: int, code: str, words: str) -> int:
    """``path:line:col: error[CODE]: message``, then the source line and a caret."""
    lines = err.splitlines()
    heads = [i for i, text in enumerate(lines) if DIAGNOSTIC_HEAD.match(text)]
    assert heads, f"no diagnostic in stderr:\n{err}"
    matches = [
        i
        for i in heads
        if DIAGNOSTIC_HEAD.match(lines[i]).group("path", "line", "col", "code")
        == (path, str(line), str(col), code)
    ]
    assert matches, f"no {path}:{line}:{col}: error[{code}] in stderr:\n{err}"
    i = matches[0]
    assert words in DIAGNOSTIC_HEAD.match(lines[i]).group("message"), lines[i]
    return i


def check_excerpt(err: str, head_index: int, source_line: str, col: int) -> None:
    """After the head: a line showing ``source_line`` and, under it, a caret at ``col``."""
    lines = err.splitlines()[head_index + 1 : head_index + 6]
    shown = [k for k, text in enumerate(lines) if text.endswith(source_line) and "|" in text]
    assert shown, f"source line {source_line!r} is not shown after the diagnostic:\n{err}"
    k = shown[0]
    text_start = len(lines[k]) - len(source_line)
    caret_line = lines[k + 1]
    assert "^" in caret_line, f"no caret under the source line:\n{err}"
    assert caret_line.index("^") == text_start + col - 1, (
        f"caret not under column {col}:\n{lines[k]}\n{caret_line}"
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with a valid ``routes.disp``; the current directory for the test."""
    (tmp_path / "routes.disp").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- where outputs go -----------------------------------------------------------


def test_build_writes_py_beside_the_source(project, capsys):
    code, out, err = run(["build", "routes.disp"], capsys)
    assert code == 0, err
    assert out == ""
    generated = (project / "routes.py").read_text(encoding="utf-8")
    assert "def application(environ, start_response)" in generated
    compile(generated, "routes.py", "exec")
    assert sorted(p.name for p in project.iterdir()) == ["routes.disp", "routes.py"]


def test_build_beside_the_source_from_another_directory(project, capsys, monkeypatch):
    sub = project / "conf"
    sub.mkdir()
    (sub / "routes.disp").write_text(GOOD, encoding="utf-8")
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run(["build", "../conf/routes.disp"], capsys)
    assert code == 0, err
    assert (sub / "routes.py").is_file()
    assert list(elsewhere.iterdir()) == []
    # Same bytes as a build run from the source's own directory.
    first = (sub / "routes.py").read_bytes()
    monkeypatch.chdir(sub)
    assert run(["build", "routes.disp"], capsys)[0] == 0
    assert (sub / "routes.py").read_bytes() == first


def test_build_with_absolute_paths(project, capsys, monkeypatch):
    monkeypatch.chdir("/")
    code, _, err = run(["build", str(project / "routes.disp")], capsys)
    assert code == 0, err
    assert (project / "routes.py").is_file()


@pytest.mark.parametrize("flag", ["-o", "--output"])
def test_output_file(project, capsys, flag):
    code, _, err = run(["build", "routes.disp", flag, "dispatcher.py"], capsys)
    assert code == 0, err
    assert (project / "dispatcher.py").is_file()
    assert not (project / "routes.py").exists()


def test_output_file_in_a_new_directory(project, capsys):
    code, _, err = run(["build", "routes.disp", "-o", "gen/pkg/out.py"], capsys)
    assert code == 0, err
    assert (project / "gen" / "pkg" / "out.py").is_file()


def test_output_into_an_existing_directory(project, capsys):
    (project / "gen").mkdir()
    code, _, err = run(["build", "routes.disp", "-o", "gen"], capsys)
    assert code == 0, err
    assert (project / "gen" / "routes.py").is_file()


def test_several_files_beside_their_sources(project, capsys):
    (project / "api").mkdir()
    (project / "api" / "other.disp").write_text(OTHER, encoding="utf-8")
    code, _, err = run(["build", "routes.disp", "api/other.disp"], capsys)
    assert code == 0, err
    assert (project / "routes.py").is_file()
    assert (project / "api" / "other.py").is_file()


@pytest.mark.parametrize("create", [True, False], ids=["existing-dir", "new-dir"])
def test_several_files_with_output_directory(project, capsys, create):
    (project / "other.disp").write_text(OTHER, encoding="utf-8")
    if create:
        (project / "out").mkdir()
    code, _, err = run(["build", "routes.disp", "other.disp", "-o", "out"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (project / "out").iterdir()) == ["other.py", "routes.py"]
    assert not (project / "routes.py").exists()
    # Each header names its own source, relative to the output directory.
    assert "../routes.disp" in (project / "out" / "routes.py").read_text(encoding="utf-8")
    assert "../other.disp" in (project / "out" / "other.py").read_text(encoding="utf-8")


def test_several_files_with_output_that_is_a_file(project, capsys):
    (project / "other.disp").write_text(OTHER, encoding="utf-8")
    (project / "out.py").write_text("keep\n", encoding="utf-8")
    code, _, err = run(["build", "routes.disp", "other.disp", "-o", "out.py"], capsys)
    assert code == 2
    assert_no_traceback(err)
    assert (project / "out.py").read_text(encoding="utf-8") == "keep\n"
    assert not (project / "routes.py").exists()


# -- exit codes ------------------------------------------------------------------


def test_exit_0_on_success(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0


def test_exit_1_on_an_input_error(project, capsys):
    (project / "bad.disp").write_text(DUPLICATE, encoding="utf-8")
    code, out, err = run(["build", "bad.disp"], capsys)
    assert code == 1
    assert out == ""
    assert_no_traceback(err)
    assert not (project / "bad.py").exists()


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["build", "--no-such-flag", "routes.disp"], id="bad-flag"),
        pytest.param(["build", "routes.disp", "-o"], id="missing-o-value"),
        pytest.param(["build", "missing.disp"], id="missing-file"),
        pytest.param(["build", "routes.disp", "missing.disp"], id="second-file-missing"),
        pytest.param(["build", "."], id="directory-as-input"),
        pytest.param(["build"], id="no-files"),
        pytest.param([], id="no-command"),
        pytest.param(["frobnicate", "routes.disp"], id="unknown-command"),
    ],
)
def test_exit_2_on_usage_errors(project, capsys, argv):
    before = snapshot(project)
    code, out, err = run(argv, capsys)
    assert code == 2, (out, err)
    assert err.strip(), "a usage error must say something on stderr"
    assert_no_traceback(err)
    assert snapshot(project) == before


def test_missing_file_is_named(project, capsys):
    code, _, err = run(["build", "nowhere/missing.disp"], capsys)
    assert code == 2
    assert "missing.disp" in err


def test_output_under_a_regular_file_is_reported_cleanly(project, capsys):
    (project / "blocker").write_text("not a directory\n", encoding="utf-8")
    code, _, err = run(["build", "routes.disp", "-o", "blocker/out.py"], capsys)
    assert code != 0
    assert err.strip()
    assert_no_traceback(err)
    assert (project / "blocker").read_text(encoding="utf-8") == "not a directory\n"
    assert temp_leftovers(project) == []


def test_unwritable_second_output_writes_nothing(project, capsys):
    """An output that cannot be replaced (here a directory is in the way) is
    reported without a traceback, and no other output is written."""
    (project / "a").mkdir()
    (project / "b").mkdir()
    (project / "a" / "one.disp").write_text(GOOD, encoding="utf-8")
    (project / "b" / "two.disp").write_text(OTHER, encoding="utf-8")
    (project / "b" / "two.py").mkdir()
    code, _, err = run(["build", "a/one.disp", "b/two.disp"], capsys)
    assert code != 0
    assert err.strip()
    assert_no_traceback(err)
    assert not (project / "a" / "one.py").exists()
    assert temp_leftovers(project) == []


def test_output_that_would_overwrite_the_input_is_refused(project, capsys):
    before = snapshot(project)
    code, _, err = run(["build", "routes.disp", "-o", "routes.disp"], capsys)
    assert code != 0
    assert_no_traceback(err)
    assert snapshot(project) == before


# -- errors write nothing ----------------------------------------------------------


def test_error_leaves_existing_output_untouched(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0
    before = snapshot(project)
    (project / "routes.disp").write_text(DUPLICATE, encoding="utf-8")
    code, _, err = run(["build", "routes.disp"], capsys)
    assert code == 1
    after = snapshot(project)
    assert after["routes.py"] == before["routes.py"]  # bytes, inode and mtime
    assert set(after) == set(before)


def test_error_in_second_file_writes_nothing(project, capsys):
    (project / "a").mkdir()
    (project / "b").mkdir()
    (project / "a" / "one.disp").write_text(GOOD, encoding="utf-8")
    (project / "b" / "two.disp").write_text(OTHER, encoding="utf-8")
    assert run(["build", "a/one.disp", "b/two.disp"], capsys)[0] == 0
    before = snapshot(project)
    (project / "a" / "one.disp").write_text(GOOD + "\n# edited\n", encoding="utf-8")
    (project / "b" / "two.disp").write_text(DUPLICATE, encoding="utf-8")
    (project / "c.disp").write_text(OTHER, encoding="utf-8")
    code, _, err = run(["build", "a/one.disp", "b/two.disp", "c.disp"], capsys)
    assert code == 1
    assert_no_traceback(err)
    after = snapshot(project)
    # The first output is not rewritten although its source compiled fine,
    # and the third is not created.
    assert after["a/one.py"] == before["a/one.py"]
    assert after["b/two.py"] == before["b/two.py"]
    assert "c.py" not in after
    assert temp_leftovers(project) == []


def test_error_in_second_file_with_output_directory_writes_nothing(project, capsys):
    (project / "other.disp").write_text(DUPLICATE, encoding="utf-8")
    (project / "out").mkdir()
    code, _, err = run(["build", "routes.disp", "other.disp", "-o", "out"], capsys)
    assert code == 1
    assert_no_traceback(err)
    assert list((project / "out").iterdir()) == []


def test_every_bad_file_is_reported(project, capsys):
    (project / "one.disp").write_text(DUPLICATE, encoding="utf-8")
    (project / "two.disp").write_text(SYNTAX, encoding="utf-8")
    code, _, err = run(["build", "one.disp", "routes.disp", "two.disp"], capsys)
    assert code == 1
    check_diagnostic(err, "one.disp", 4, 5, "E103", "duplicate route")
    check_diagnostic(err, "two.disp", 3, 10, "E001", "")
    assert not (project / "routes.py").exists()


# -- diagnostics -------------------------------------------------------------------


def test_diagnostic_format(project, capsys):
    (project / "bad.disp").write_text(DUPLICATE, encoding="utf-8")
    code, out, err = run(["build", "bad.disp"], capsys)
    assert code == 1
    assert out == ""
    assert err.splitlines()[0].startswith("bad.disp:4:5: error[E103]: ")
    head = check_diagnostic(err, "bad.disp", 4, 5, "E103", '"/api"')
    check_excerpt(err, head, "    /api -> pkg.b:application", 5)


def test_diagnostic_path_is_the_path_given(project, capsys):
    (project / "conf").mkdir()
    (project / "conf" / "bad.disp").write_text(DUPLICATE, encoding="utf-8")
    code, _, err = run(["build", "conf/bad.disp"], capsys)
    assert code == 1
    check_diagnostic(err, "conf/bad.disp", 4, 5, "E103", "duplicate route")


def test_syntax_error_diagnostic(project, capsys):
    (project / "bad.disp").write_text(SYNTAX, encoding="utf-8")
    code, _, err = run(["build", "bad.disp"], capsys)
    assert code == 1
    assert_no_traceback(err)
    head = check_diagnostic(err, "bad.disp", 3, 10, "E001", "expected")
    check_excerpt(err, head, "    /x ->", 10)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b"/ -> app:application\n/x -> \xff\xfe:bad\n", "E002", id="invalid-utf8"),
        pytest.param(b"/ -> app:application\x00\n", None, id="nul-byte"),
        pytest.param(b"host {\n", "E001", id="unclosed-block"),
        pytest.param(b'/ -> redirect 302 "https://x\n', "E003", id="unterminated-string"),
        pytest.param(b"/ -> status 999\n", "E305", id="bad-status"),
        pytest.param(b"/ -> my-app:application\n", "E301", id="bad-module"),
        pytest.param(b"host *.*.example.com {\n / -> a:b\n}\n", "E201", id="bad-host"),
        pytest.param(b"/a//b -> a:b\n", "E202", id="bad-path"),
        pytest.param(b"/ -> undefined_name\n", "E101", id="undefined-name"),
        pytest.param("/ -> app:application\n/\u2028 -> a:b\n".encode(), None, id="line-separator"),
        pytest.param(b"\x1b[2J/ -> a:b\n", None, id="terminal-escape"),
    ],
)
def test_bad_inputs_never_give_a_traceback(project, capsys, raw, code):
    (project / "bad.disp").write_bytes(raw)
    status, out, err = run(["build", "bad.disp"], capsys)
    assert status == 1, err
    assert_no_traceback(err)
    heads = [m for m in map(DIAGNOSTIC_HEAD.match, err.splitlines()) if m]
    assert heads, err
    assert all(m.group("path") == "bad.disp" for m in heads)
    if code is not None:
        assert code in {m.group("code") for m in heads}, err
    assert "\x1b" not in err, "control characters from the source reach the terminal"
    assert not (project / "bad.py").exists()


def test_subprocess_error_has_no_traceback(project):
    (project / "bad.disp").write_text(DUPLICATE, encoding="utf-8")
    proc = run_process([sys.executable, "-m", "dispatchc", "build", "bad.disp"], project)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert_no_traceback(proc.stderr)
    assert proc.stderr.startswith("bad.disp:4:5: error[E103]: ")
    assert not (project / "bad.py").exists()


# -- atomic writes -------------------------------------------------------------------


def test_no_temporary_files_left_behind(project, capsys):
    for _ in range(3):
        assert run(["build", "routes.disp"], capsys)[0] == 0
    assert sorted(p.name for p in project.iterdir()) == ["routes.disp", "routes.py"]


def test_output_is_replaced_by_a_rename(project, capsys):
    out = project / "routes.py"
    out.write_text("# an older build\n", encoding="utf-8")
    keep = out.open("rb")  # a reader holding the old file keeps the old bytes
    try:
        old_inode = out.stat().st_ino
        assert run(["build", "routes.disp"], capsys)[0] == 0
        assert out.stat().st_ino != old_inode, "output was rewritten in place, not renamed"
        assert keep.read() == b"# an older build\n"
    finally:
        keep.close()
    assert temp_leftovers(project) == []


def test_existing_file_mode_is_kept(project, capsys):
    out = project / "routes.py"
    out.write_text("# old\n", encoding="utf-8")
    out.chmod(0o640)
    assert run(["build", "routes.disp"], capsys)[0] == 0
    assert out.stat().st_mode & 0o777 == 0o640


def test_new_output_is_not_private(project, capsys):
    # A temp file is created 0600; the renamed output must not stay that way.
    umask = os.umask(0o022)
    os.umask(umask)
    if umask & 0o044:
        pytest.skip("the umask itself makes new files private")
    assert run(["build", "routes.disp"], capsys)[0] == 0
    assert (project / "routes.py").stat().st_mode & 0o044 == 0o044


def test_readers_never_see_a_partial_file(project, capsys):
    """A reader polling the output sees either a complete old or new build."""
    second = GOOD + "\nhost late.example.com {\n    / -> late_app:application\n}\n"
    out = project / "routes.py"
    assert run(["build", "routes.disp"], capsys)[0] == 0
    versions = {out.read_bytes()}
    (project / "routes.disp").write_text(second, encoding="utf-8")
    assert run(["build", "routes.disp"], capsys)[0] == 0
    versions.add(out.read_bytes())
    assert len(versions) == 2

    seen: list[bytes] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(out.read_bytes())
            except FileNotFoundError:  # pragma: no cover - would be a bug
                seen.append(b"<missing>")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(20):
            text = GOOD if i % 2 == 0 else second
            (project / "routes.disp").write_text(text, encoding="utf-8")
            assert run(["build", "routes.disp"], capsys)[0] == 0
    finally:
        stop.set()
        thread.join(timeout=TIMEOUT)
    assert seen
    partial = [s[:80] for s in seen if s not in versions]
    assert not partial, f"{len(partial)} reads saw a missing or partial output: {partial[:3]}"
    assert temp_leftovers(project) == []


# -- --check ----------------------------------------------------------------------------


def test_check_up_to_date(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0
    before = snapshot(project)
    code, _, err = run(["build", "--check", "routes.disp"], capsys)
    assert code == 0, err
    assert snapshot(project) == before


def test_check_missing(project, capsys):
    code, _, err = run(["build", "--check", "routes.disp"], capsys)
    assert code == 1
    assert "routes.py" in err
    assert "missing" in err
    assert not (project / "routes.py").exists()
    assert temp_leftovers(project) == []


def test_check_stale(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0
    (project / "routes.disp").write_text(
        GOOD + "\n# a comment changes the sha256\n", encoding="utf-8"
    )
    before = snapshot(project)
    code, out, err = run(["build", "--check", "routes.disp"], capsys)
    assert code == 1
    assert "routes.py" in err + out
    assert "stale" in err + out
    assert snapshot(project) == before


def test_check_hand_edited_output_is_stale(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0
    out = project / "routes.py"
    out.write_text(out.read_text(encoding="utf-8") + "# hand edit\n", encoding="utf-8")
    code, _, err = run(["build", "--check", "routes.disp"], capsys)
    assert code == 1
    assert "stale" in err


def test_check_with_output_path(project, capsys):
    assert run(["build", "routes.disp", "-o", "gen/out.py"], capsys)[0] == 0
    assert run(["build", "--check", "routes.disp", "-o", "gen/out.py"], capsys)[0] == 0
    # Checked against the default output instead, it is missing.
    code, _, err = run(["build", "--check", "routes.disp"], capsys)
    assert code == 1
    assert "missing" in err


def test_check_several_files_names_the_stale_one(project, capsys):
    (project / "other.disp").write_text(OTHER, encoding="utf-8")
    (project / "third.disp").write_text(OTHER.replace("410", "404"), encoding="utf-8")
    assert run(["build", "routes.disp", "other.disp", "third.disp"], capsys)[0] == 0
    (project / "other.disp").write_text(OTHER.replace("410", "451"), encoding="utf-8")
    (project / "third.py").unlink()
    before = snapshot(project)
    code, out, err = run(["build", "--check", "routes.disp", "other.disp", "third.disp"], capsys)
    assert code == 1
    lines = (err + out).splitlines()
    assert any("other.py" in line and "stale" in line for line in lines), err
    assert any("third.py" in line and "missing" in line for line in lines), err
    assert not any("routes.py" in line and ("stale" in line or "missing" in line) for line in lines)
    assert snapshot(project) == before


def test_check_with_an_input_error(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0
    (project / "routes.disp").write_text(DUPLICATE, encoding="utf-8")
    before = snapshot(project)
    code, _, err = run(["build", "--check", "routes.disp"], capsys)
    assert code == 1
    assert_no_traceback(err)
    check_diagnostic(err, "routes.disp", 4, 5, "E103", "duplicate route")
    assert snapshot(project) == before


def test_check_in_a_subprocess(project):
    proc = run_process(
        [sys.executable, "-m", "dispatchc", "build", "--check", "routes.disp"], project
    )
    assert proc.returncode == 1
    assert "missing" in proc.stderr + proc.stdout
    assert not (project / "routes.py").exists()


# -- entry points -----------------------------------------------------------------------


def test_version_in_process(capsys):
    code, out, err = run(["--version"], capsys)
    assert code == 0
    assert dispatchc.__version__ in (out + err).split()[-1]
    assert (out + err).strip() == f"dispatchc {dispatchc.__version__}"


def test_version_python_m(tmp_path):
    proc = run_process([sys.executable, "-m", "dispatchc", "--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"dispatchc {dispatchc.__version__}"


def test_version_console_script(tmp_path):
    proc = run_process([str(console_script()), "--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"dispatchc {dispatchc.__version__}"


def test_build_python_m(project):
    proc = run_process([sys.executable, "-m", "dispatchc", "build", "routes.disp"], project)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc.stderr)
    assert (project / "routes.py").is_file()


def test_build_console_script_matches_in_process(project, capsys, tmp_path_factory):
    other = tmp_path_factory.mktemp("script")
    (other / "routes.disp").write_text(GOOD, encoding="utf-8")
    proc = run_process(
        [str(console_script()), "build", "routes.disp", "-o", "out/routes.py"], other
    )
    assert proc.returncode == 0, proc.stderr
    assert run(["build", "routes.disp", "-o", "out/routes.py"], capsys)[0] == 0
    assert (other / "out" / "routes.py").read_bytes() == (
        project / "out" / "routes.py"
    ).read_bytes()


def test_usage_error_through_console_script(project):
    proc = run_process([str(console_script()), "build", "--bogus", "routes.disp"], project)
    assert proc.returncode == 2
    assert_no_traceback(proc.stderr)
    proc = run_process([str(console_script())], project)
    assert proc.returncode == 2
    assert_no_traceback(proc.stderr)


# -- reproducible output ------------------------------------------------------------------


def test_two_builds_are_byte_identical(project, capsys):
    assert run(["build", "routes.disp"], capsys)[0] == 0
    first = (project / "routes.py").read_bytes()
    assert run(["build", "routes.disp"], capsys)[0] == 0
    assert (project / "routes.py").read_bytes() == first


def test_same_tree_in_two_places_gives_the_same_bytes(tmp_path_factory, capsys, monkeypatch):
    tree = tmp_path_factory.mktemp("dc-original-tree")
    (tree / "conf").mkdir()
    (tree / "conf" / "routes.disp").write_text(GOOD, encoding="utf-8")
    (tree / "conf" / "other.disp").write_text(OTHER, encoding="utf-8")
    first = tmp_path_factory.mktemp("dc-first") / "dc-checkout-one"
    second = tmp_path_factory.mktemp("dc-second-with-a-longer-name") / "deeper" / "dc-checkout-two"
    shutil.copytree(tree, first)
    shutil.copytree(tree, second)

    # Build one relative to the current directory, the other with absolute paths.
    monkeypatch.chdir(first)
    argv = ["build", "conf/routes.disp", "conf/other.disp", "-o", "gen"]
    assert run(argv, capsys)[0] == 0
    monkeypatch.chdir(second / "conf")
    argv = ["build", str(second / "conf" / "routes.disp"), "other.disp", "-o", str(second / "gen")]
    assert run(argv, capsys)[0] == 0
    for name in ("routes.py", "other.py"):
        a = (first / "gen" / name).read_bytes()
        b = (second / "gen" / name).read_bytes()
        assert a == b, name
        text = a.decode("utf-8")
        for root in (first, second, tree):
            assert str(root) not in text
            assert root.name not in text
            assert root.parent.name not in text


def test_same_tree_in_two_places_through_subprocesses(tmp_path_factory):
    outputs = []
    for label in ("one", "two"):
        root = tmp_path_factory.mktemp(label)
        (root / "routes.disp").write_text(GOOD, encoding="utf-8")
        proc = run_process([sys.executable, "-m", "dispatchc", "build", "routes.disp"], root)
        assert proc.returncode == 0, proc.stderr
        outputs.append((root / "routes.py").read_bytes())
    assert outputs[0] == outputs[1]


# -- the header ----------------------------------------------------------------------------


def header(text: str, lines: int = 5) -> str:
    return "\n".join(text.splitlines()[:lines])


def test_header_names_version_source_and_sha256(project, capsys):
    raw = (project / "routes.disp").read_bytes()
    assert run(["build", "routes.disp"], capsys)[0] == 0
    head = header((project / "routes.py").read_text(encoding="utf-8"))
    assert head.startswith("#")
    assert "generated" in head.lower()
    assert dispatchc.__version__ in head
    assert re.search(r"(?<![\w./])routes\.disp\b", head), head
    assert hashlib.sha256(raw).hexdigest() in head


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("routes.py", "routes.disp"),
        ("sub/out.py", "../routes.disp"),
        ("a/b/out.py", "../../routes.disp"),
        ("../sibling/out.py", "../project/routes.disp"),
    ],
)
def test_header_source_path_is_relative_to_the_output(
    tmp_path, capsys, monkeypatch, output, expected
):
    project = tmp_path / "project"
    project.mkdir()
    (project / "routes.disp").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(project)
    assert run(["build", "routes.disp", "-o", output], capsys)[0] == 0
    text = (project / output).read_text(encoding="utf-8")
    head = header(text)
    assert re.search(r"(?<![\w./])" + re.escape(expected) + r"(?![\w/])", head), head
    assert str(tmp_path) not in text


def test_header_sha256_is_of_the_source_bytes(project, capsys):
    # A BOM and CRLF line ends are part of the bytes that are hashed.
    raw = ("\ufeff" + GOOD).replace("\n", "\r\n").encode("utf-8")
    (project / "routes.disp").write_bytes(raw)
    assert run(["build", "routes.disp"], capsys)[0] == 0
    head = header((project / "routes.py").read_text(encoding="utf-8"))
    assert hashlib.sha256(raw).hexdigest() in head
    assert hashlib.sha256(GOOD.encode("utf-8")).hexdigest() not in head


def test_header_sha256_changes_with_a_comment(project, capsys):
    assert run(["build", "routes.disp", "-o", "a.py"], capsys)[0] == 0
    (project / "routes.disp").write_text(GOOD + "# more\n", encoding="utf-8")
    assert run(["build", "routes.disp", "-o", "b.py"], capsys)[0] == 0
    a = (project / "a.py").read_text(encoding="utf-8")
    b = (project / "b.py").read_text(encoding="utf-8")
    assert a != b
    assert header(a, 1) == header(b, 1)


TIMESTAMP = re.compile(
    r"\b(19|20)\d\d-\d\d-\d\d\b|\b\d\d:\d\d:\d\d\b"
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d|\b1[6-9]\d{8}\b"
)


def test_no_absolute_paths_or_timestamps(tmp_path, capsys, monkeypatch):
    project = tmp_path / "a-rather-unique-directory-name"
    project.mkdir()
    (project / "routes.disp").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir("/")
    out = project / "gen" / "routes.py"
    assert run(["build", str(project / "routes.disp"), "-o", str(out)], capsys)[0] == 0
    text = out.read_text(encoding="utf-8")
    assert "a-rather-unique-directory-name" not in text
    assert str(tmp_path) not in text
    assert str(Path.home()) not in text or str(Path.home()) == "/"
    assert sys.prefix not in text
    assert not TIMESTAMP.search(text), TIMESTAMP.search(text)
    # No absolute filesystem path in any string or comment.
    assert not re.search(r"(?<![\w:/])/(tmp|home|root|usr|var|Users|private)/", text)


def test_file_name_cannot_inject_code(tmp_path, capsys, monkeypatch):
    """The source path shown in the header stays inside its comment."""
    monkeypatch.chdir(tmp_path)
    name = "routes\nimport os\n#.disp"
    try:
        (tmp_path / name).write_text("/ -> app:application\n", encoding="utf-8")
    except OSError:  # pragma: no cover - file systems that refuse newlines
        pytest.skip("the file system refuses a newline in a file name")
    code, _, err = run(["build", name, "-o", "routes.py"], capsys)
    assert_no_traceback(err)
    if code == 0:
        text = (tmp_path / "routes.py").read_text(encoding="utf-8")
        assert "\nimport os\n" not in text
        comments_then_code = [line for line in text.splitlines()[:4] if not line.startswith("#")]
        assert comments_then_code == [] or comments_then_code[0].startswith('"""'), text[:300]
    else:
        assert code in (1, 2)
