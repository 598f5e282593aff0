"""``dispatchc diff`` (SPEC §11): goldens per kind of change and per format,
the examples against what ``dispatchc explain`` prints, exit codes, errors,
``--rev`` with git, and terminal safety. The exactness property is in
tests/test_diff_properties.py, the 10,000-route figure in
tests/benchmarks/bench_diff.py.

Each ``tests/diff_cases/<name>/`` holds ``old.disp`` and ``new.disp`` and what
``dispatchc diff old.disp new.disp --format F`` prints there, as
``expected.txt``, ``.json``, ``.github`` and ``.md``. After an intended
change to the output, regenerate them and review the diff::

    DISPATCHC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_diff.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatchc.cli import main
from dispatchc.compiler import analyse
from dispatchc.diagnostics import printable
from dispatchc.tools.diff import compare
from dispatchc.tools.diff.handling import KINDS
from dispatchc.tools.diff.regions import url_segment
from dispatchc.tools.explain import build_environ

CASES_DIR = Path(__file__).resolve().parent / "diff_cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "new.disp").is_file())
FORMATS = {"text": "txt", "json": "json", "github": "github", "markdown": "md"}
UPDATE_ENV = "DISPATCHC_UPDATE_GOLDEN"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- goldens -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_golden(case, fmt, capsys, monkeypatch):
    monkeypatch.chdir(CASES_DIR / case)
    code, out, err = run(capsys, "old.disp", "new.disp", "--format", fmt)
    assert err == ""
    expected = CASES_DIR / case / f"expected.{FORMATS[fmt]}"
    if os.environ.get(UPDATE_ENV) == "1":
        expected.write_text(out, encoding="utf-8", newline="\n")
    assert expected.exists(), f"run {UPDATE_ENV}=1 to create {expected.name}"
    assert out == expected.read_text(encoding="utf-8")
    changed = json.loads(run(capsys, "old.disp", "new.disp", "--format", "json")[1])
    assert code == (1 if changed else 0)


def _golden_changes() -> list[tuple[str, dict]]:
    out = []
    for case in CASES:
        path = CASES_DIR / case / "expected.json"
        if path.exists():  # test_golden says when it is not
            out += [(case, c) for c in json.loads(path.read_text(encoding="utf-8"))]
    return out


def test_goldens_show_every_kind_and_format_rules():
    changes = _golden_changes()
    assert {c["kind"] for _, c in changes} == set(KINDS)
    for _, change in changes:
        assert set(change) >= {"url", "kind", "old", "new"}
        for side in (change["old"], change["new"]):
            assert set(side) in (
                {"status", "reason"},
                {"route", "target", "script_name", "path_info", "captures", "fallbacks"},
                {
                    "route",
                    "target",
                    "script_name",
                    "path_info",
                    "captures",
                    "fallbacks",
                    "location",
                },
            )


def test_reordering_comments_format_cache_and_use_names_list_nothing(capsys, monkeypatch):
    monkeypatch.chdir(CASES_DIR / "unchanged")
    assert run(capsys, "old.disp", "new.disp", "--format", "json") == (0, "[]\n", "")
    code, out, _ = run(capsys, "old.disp", "new.disp")
    assert code == 0 and "no request is handled differently" in out


def test_the_example_in_the_docs_is_the_sample_golden():
    docs = (CASES_DIR.parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    command = "$ dispatchc diff old.disp new.disp\n"
    shown = docs.split(command, 1)[1].split("```", 1)[0]
    assert shown == (CASES_DIR / "sample" / "expected.txt").read_text(encoding="utf-8")
    assert (CASES_DIR / "sample" / "old.disp").read_text(encoding="utf-8") == (
        CASES_DIR.parent.parent / "samples" / "flask_dispatching.disp"
    ).read_text(encoding="utf-8")


# -- the examples are what explain prints ---------------------------------------------


def explain_rows(capsys, file: Path, url: str) -> dict[str, str]:
    assert main(["explain", str(file), url]) == 0
    out = capsys.readouterr().out
    return {line[:10].strip(): line[10:] for line in out.splitlines() if line[:10].strip()}


def _explained(rows: dict[str, str]) -> dict:
    """The json shape of a side, read back from explain's printed lines."""
    result = rows["Result"]
    if not result.startswith("SCRIPT_NAME="):
        return {"status": int(result.split()[0])}
    script, path_info = (eval(part.split("=", 1)[1]) for part in result.split("  "))
    captures = {}
    if rows["Captures"] != "none":
        captures = {k: eval(v) for k, v in (c.split("=", 1) for c in rows["Captures"].split("  "))}
    return {
        "route": eval(rows["Route"].split(" = ", 1)[1]),
        "script_name": script,
        "path_info": path_info,
        "captures": captures,
    }


@pytest.mark.parametrize("case, change", _golden_changes(), ids=lambda x: str(x)[:40])
def test_each_example_is_what_explain_prints_on_each_file(case, change, capsys):
    """``dispatchc explain FILE URL`` on the old and on the new file prints the
    route, captures and split (or the status) that diff shows."""
    for name, side in (("old.disp", change["old"]), ("new.disp", change["new"])):
        rows = explain_rows(capsys, CASES_DIR / case / name, change["url"])
        shown = _explained(rows)
        assert {k: side[k] for k in shown} == shown
        if "route" in side:
            assert printable(side["target"]) in rows["Routes"]
        if "location" in side:
            assert rows["Responds"].endswith(f"Location: {side['location']}")


# -- command line ----------------------------------------------------------------------


def test_usage_errors_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.disp").write_text("/ -> m:app\n")
    code, out, err = run(capsys, "a.disp")
    assert code == 2 and out == "" and "dispatchc diff OLD NEW" in err
    code, _, err = run(capsys, "a.disp", "a.disp", "a.disp")
    assert code == 2
    code, _, err = run(capsys, "a.disp", "missing.disp")
    assert code == 2 and "cannot read missing.disp" in err
    with pytest.raises(SystemExit) as exc:
        main(["diff", "a.disp", "a.disp", "--format", "yaml"])
    assert exc.value.code == 2


BROKEN = "/ -> m:app\n/x -> nope\n"


def test_a_file_with_errors_exits_2_with_its_diagnostics(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("old.disp").write_text("/ -> m:app\n")
    Path("new.disp").write_text(BROKEN)
    code, out, err = run(capsys, "old.disp", "new.disp")
    assert code == 2 and out == ""
    assert "new.disp:2:7: error[E101]: undefined name 'nope'" in err
    assert "2 | /x -> nope\n  |       ^^^^" in err
    code, out, err = run(capsys, "old.disp", "new.disp", "--format", "github")
    assert code == 2
    assert out.startswith("::error file=new.disp,line=2,col=7,title=E101::undefined name")
    code, out, _ = run(capsys, "new.disp", "old.disp", "--format", "json")
    assert code == 2 and out == ""


def test_exit_zero(capsys, monkeypatch):
    monkeypatch.chdir(CASES_DIR / "moved")
    code, out, _ = run(capsys, "old.disp", "new.disp", "--exit-zero")
    assert code == 0 and "moved" in out


def test_command_line_entry_point(tmp_path):
    """``python -m dispatchc diff``: the exit status of a real process."""
    (tmp_path / "a.disp").write_text("/ -> m:app\n")
    (tmp_path / "b.disp").write_text("/ -> m:app\n/api -> m:api\n")
    cmd = [sys.executable, "-m", "dispatchc", "diff", "a.disp"]
    same = subprocess.run([*cmd, "a.disp"], cwd=tmp_path, capture_output=True, timeout=60)
    assert same.returncode == 0
    changed = subprocess.run(
        [*cmd, "b.disp"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert changed.returncode == 1
    assert "moved  http://example.com/api" in changed.stdout


def test_nothing_from_a_file_or_url_reaches_the_terminal(capsys, monkeypatch):
    monkeypatch.chdir(CASES_DIR / "adversarial")
    for fmt in FORMATS:
        _, out, _ = run(capsys, "old.disp", "new.disp", "--format", fmt)
        assert "\x1b" not in out and "\u202e" not in out
        assert all(line.isprintable() for line in out.splitlines()), fmt
    _, out, _ = run(capsys, "old.disp", "new.disp", "--format", "json")
    assert out.isascii()
    assert json.loads(out)[1]["new"]["target"] == 'm:f("\x1b[31mred\u202e|`")'


# -- --rev -----------------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def repo(tmp_path) -> Path:
    if shutil.which("git") is None:  # pragma: no cover - git is on every CI machine
        pytest.fail("git is needed")
    git(tmp_path, "init", "-q")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "routes.disp").write_text("/ -> site:app\n/api -> api:app\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "routes")
    (tmp_path / "site" / "routes.disp").write_text("/ -> site:app\n/api -> api:v2\n")
    return tmp_path


def test_rev_reads_the_old_file_from_git(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo / "site")
    code, out, err = run(capsys, "--rev", "HEAD", "routes.disp")
    assert (code, err) == (1, "")
    assert out.startswith("HEAD:site/routes.disp -> routes.disp: 1 changed region (1 moved)")
    # From anywhere: PATH is relative to the repository's root.
    monkeypatch.chdir(repo.parent)
    code, out, _ = run(capsys, "--rev", "HEAD", f"{repo.name}/site/routes.disp", "--format", "json")
    assert code == 1
    [change] = json.loads(out)
    assert change["old"]["target"] == "api:app" and change["new"]["target"] == "api:v2"
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v2")
    assert run(capsys, "--rev", "HEAD", f"{repo.name}/site/routes.disp")[0] == 0
    assert run(capsys, "--rev", "HEAD~1", f"{repo.name}/site/routes.disp")[0] == 1


def test_rev_a_new_file_is_compared_with_an_empty_one(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    Path("new.disp").write_text("/ -> site:app\n")
    code, out, err = run(capsys, "--rev", "HEAD", "new.disp")
    assert code == 1
    assert err == "dispatchc: note: HEAD:new.disp does not exist: compared with an empty file\n"
    assert "now-handled  http://example.com/" in out


def test_rev_before_the_first_commit(tmp_path, capsys, monkeypatch):
    git(tmp_path, "init", "-q")
    monkeypatch.chdir(tmp_path)
    Path("routes.disp").write_text("/ -> site:app\n")
    code, out, err = run(capsys, "--rev", "HEAD", "routes.disp")
    assert code == 1 and "does not exist" in err and "now-handled" in out
    code, _, err = run(capsys, "--rev", "main~3", "routes.disp")
    assert code == 2 and "unknown revision 'main~3'" in err


def test_rev_usage_errors(repo, tmp_path_factory, capsys, monkeypatch):
    monkeypatch.chdir(repo / "site")
    code, _, err = run(capsys, "--rev", "no-such-branch", "routes.disp")
    assert code == 2
    assert err == (
        "dispatchc: error: --rev: unknown revision 'no-such-branch' "
        "(not a commit of this repository)\n"
    )
    code, _, err = run(capsys, "--rev=--output=x", "routes.disp")
    assert code == 2 and "--rev '--output=x' is not a revision" in err
    code, _, err = run(capsys, "--rev", "HEAD", "missing.disp")
    assert code == 2 and "cannot read missing.disp" in err
    outside = tmp_path_factory.mktemp("outside")
    (outside / "routes.disp").write_text("/ -> site:app\n")
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(outside.parent))
    code, _, err = run(capsys, "--rev", "HEAD", "routes.disp")
    assert code == 2 and "routes.disp is not in a git work tree" in err
    monkeypatch.setenv("PATH", str(outside))  # no git there
    code, _, err = run(capsys, "--rev", "HEAD", "routes.disp")
    assert code == 2 and "--rev needs git" in err


def test_rev_several_files(repo, capsys, monkeypatch):
    """As pre-commit calls it: each file against itself at the revision."""
    monkeypatch.chdir(repo)
    Path("other.disp").write_text("/ -> site:app\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "other")
    Path("other.disp").write_text("/ -> site:v2\n")
    code, out, _ = run(
        capsys, "--rev", "HEAD~1", "site/routes.disp", "other.disp", "--format", "json"
    )
    assert code == 1
    assert [(c["file"], c["kind"]) for c in json.loads(out)] == [
        ("site/routes.disp", "moved"),
        ("other.disp", "now-handled"),
    ]


# -- witnesses -------------------------------------------------------------------------


@given(st.text(st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="/")))
def test_a_path_segment_survives_the_url(segment):
    """What diff prints as an example URL puts exactly that segment back in
    PATH_INFO (explain builds the environ as a server would)."""
    url = f"http://example.com/{url_segment(segment)}"
    assert build_environ(url)["PATH_INFO"] == "/" + segment
    assert url.isprintable()


def test_hosts_under_a_long_suffix():
    """A host pattern whose suffix leaves no room for "h1." is still
    compared: the example host uses one-letter labels, and stays valid."""
    suffix = ".".join(["l" * 62] * 4)  # 251 characters
    old = analyse("old.disp", f"host *.{suffix} {{\n  / -> a:app\n}}\n".encode())
    new = analyse("new.disp", f"host *.{suffix} {{\n  / -> b:app\n}}\n".encode())
    [change] = compare(old, new)
    assert change.url == f"http://a.{suffix}/"
    assert change.old.handler is not None and change.new.handler is not None
