"""The pre-commit hooks (.pre-commit-hooks.yaml), run for real with
``pre-commit try-repo`` from this checkout against a scratch repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

GOOD = "use site = app:application\n\n/     -> site\n/api  -> app:api\n"
CANONICAL = "use site = app:application\n\n/    -> site\n/api -> app:api\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory) -> dict[str, str]:
    if shutil.which("git") is None:  # pragma: no cover - git is on every CI machine
        pytest.fail("git is needed to run pre-commit")
    env = dict(os.environ)
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def try_repo(repo: Path, hook: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    _git(repo, "add", "-A")  # pre-commit only sees files git knows
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def repo(tmp_path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "routes.disp").write_text(GOOD)
    return tmp_path


def test_fmt_hook_rewrites_then_passes(repo, hook_env):
    first = try_repo(repo, "dispatchc-fmt", hook_env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert (repo / "routes.disp").read_text() == CANONICAL
    second = try_repo(repo, "dispatchc-fmt", hook_env)
    assert second.returncode == 0, second.stdout + second.stderr


def test_lint_hook(repo, hook_env):
    ok = try_repo(repo, "dispatchc-lint", hook_env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (repo / "routes.disp").write_text(GOOD + "/x -> nope\n")
    bad = try_repo(repo, "dispatchc-lint", hook_env)
    assert bad.returncode == 1
    assert "error[E101]: undefined name 'nope'" in bad.stdout


def test_check_hook(repo, hook_env):
    missing = try_repo(repo, "dispatchc-check", hook_env)
    assert missing.returncode == 1 and "missing" in missing.stdout
    subprocess.run(
        [sys.executable, "-m", "dispatchc", "build", "routes.disp"],
        cwd=repo,
        check=True,
        timeout=60,
    )
    fresh = try_repo(repo, "dispatchc-check", hook_env)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    (repo / "routes.disp").write_text(GOOD + "/v2 -> app:v2\n")
    stale = try_repo(repo, "dispatchc-check", hook_env)
    assert stale.returncode == 1 and "stale" in stale.stdout


def test_diff_hook_shows_the_change_and_passes(repo, hook_env):
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "routes")
    (repo / "routes.disp").write_text(GOOD.replace("app:api", "app:api_v2"))
    shown = try_repo(repo, "dispatchc-diff", hook_env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "HEAD:routes.disp -> routes.disp: 1 changed region (1 moved)" in shown.stdout
    assert "new  default /api -> app:api_v2" in shown.stdout
    (repo / "routes.disp").write_text(GOOD + "/x -> nope\n")
    broken = try_repo(repo, "dispatchc-diff", hook_env)
    assert broken.returncode == 1  # pre-commit's status for a failed hook (diff exits 2)
    assert "error[E101]: undefined name 'nope'" in broken.stdout
