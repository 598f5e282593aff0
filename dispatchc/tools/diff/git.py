"""``diff --rev REV FILE``: the old file is FILE as it was at a git revision,
read like ``git show REV:PATH`` (PATH relative to the repository's root), as
raw bytes (``git cat-file blob``: no textconv, no filters)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ...diagnostics import printable
from ...errors import UsageError

TIMEOUT = 60


@dataclass(frozen=True)
class Revision:
    """A file at a revision: ``name`` is how it is shown (``REV:PATH``);
    ``raw`` is None when the file does not exist there."""

    name: str
    raw: bytes | None


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("--rev needs git, and no git command was found") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"--rev: git {args[0]} did not answer in {TIMEOUT} s") from None


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    """git's first line of complaint, safe to print."""
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return printable(lines[0]) if lines else f"git exited with status {result.returncode}"


def read_at(rev: str, path: Path) -> Revision:
    """``path`` (a file in a git work tree) as it was at ``rev``. A usage
    error when git, the repository or the revision is missing. A file that
    does not exist at ``rev`` (a new file) has ``raw`` None; so does every
    file at ``HEAD`` in a repository without a commit yet."""
    shown = printable(rev)
    if not rev or rev.startswith("-"):
        raise UsageError(f"--rev {shown!r} is not a revision")
    directory = path.parent
    where = _git(directory, "rev-parse", "--show-prefix")
    if where.returncode != 0:
        raise UsageError(f"--rev: {printable(str(path))} is not in a git work tree: {_said(where)}")
    relative = where.stdout.decode("utf-8", "surrogateescape").strip() + path.name
    name = f"{rev}:{relative}"
    commit = _git(directory, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if commit.returncode != 0:
        if rev in ("HEAD", "@"):
            return Revision(name, None)  # HEAD is not a commit yet: every file is new
        raise UsageError(f"--rev: unknown revision {shown!r} (not a commit of this repository)")
    sha = commit.stdout.decode("ascii").strip()
    kind = _git(directory, "cat-file", "-t", f"{sha}:{relative}")
    if kind.returncode != 0:
        return Revision(name, None)
    if kind.stdout.strip() != b"blob":
        raise UsageError(f"--rev: {printable(name)} is not a file at that revision")
    blob = _git(directory, "cat-file", "blob", f"{sha}:{relative}")
    if blob.returncode != 0:
        raise UsageError(f"--rev: cannot read {printable(name)}: {_said(blob)}")
    return Revision(name, blob.stdout)
