"""The wheel: it ships the grammar and the template, and once installed
(non-editable, in a fresh virtual environment) its ``dispatchc`` command
builds the samples byte for byte as they are committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dispatchc

from .conftest import ROOT, SAMPLES

pytestmark = pytest.mark.slow

BUILD_TIMEOUT = 300
INSTALL_TIMEOUT = 300
VENV_TIMEOUT = 120
RUN_TIMEOUT = 60


def _clean_env() -> dict[str, str]:
    """The environment without anything that would leak this checkout in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"timed out after {timeout}s: {args}\n{exc.stdout}\n{exc.stderr}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this repository."""
    outdir = tmp_path_factory.mktemp("wheelhouse")
    proc = _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(ROOT)],
        cwd=outdir,
        timeout=BUILD_TIMEOUT,
    )
    if proc.returncode != 0:
        # Offline or without `build`: let pip run the backend.
        fallback = _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(outdir), str(ROOT)],
            cwd=outdir,
            timeout=BUILD_TIMEOUT,
        )
        assert fallback.returncode == 0, (
            f"python -m build failed:\n{proc.stdout}\n{proc.stderr}\n"
            f"pip wheel failed too:\n{fallback.stdout}\n{fallback.stderr}"
        )
    wheels = sorted(outdir.glob("dispatchc-*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in outdir.iterdir())
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its bin directory."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    proc = _run(
        [sys.executable, "-m", "venv", str(env_dir)], cwd=env_dir.parent, timeout=VENV_TIMEOUT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    proc = _run(
        [str(python), "-m", "pip", "install", "--no-input", str(wheel)],
        cwd=env_dir,
        timeout=INSTALL_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return bindir


def test_wheel_ships_grammar_and_template(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "dispatchc/disp.lark" in names
        assert "dispatchc/templates/dispatcher.py.j2" in names
        assert "dispatchc/__init__.py" in names
        assert "dispatchc/cli.py" in names
        # The shipped grammar is the repository's grammar.
        grammar = archive.read("dispatchc/disp.lark").decode("utf-8")
        assert grammar == (ROOT / "grammar" / "disp.lark").read_text(encoding="utf-8")
        template = archive.read("dispatchc/templates/dispatcher.py.j2").decode("utf-8")
        repo_template = ROOT / "dispatchc" / "templates" / "dispatcher.py.j2"
        assert template == repo_template.read_text(encoding="utf-8")
        entry_points = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert entry_points, "no entry_points.txt in the wheel"
        text = archive.read(entry_points[0]).decode("utf-8")
        assert "dispatchc = dispatchc.cli:main" in text
        assert not any(n.startswith(("tests/", "samples/", ".venv/")) for n in names)


def test_wheel_version_is_the_package_version(wheel):
    assert wheel.name.startswith(f"dispatchc-{dispatchc.__version__}-")


def test_installed_package_is_not_this_checkout(installed, tmp_path):
    proc = _run(
        [
            str(installed / "python"),
            "-c",
            "import dispatchc, sys; print(dispatchc.__file__); print(dispatchc.__version__)",
        ],
        cwd=tmp_path,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    location, version = proc.stdout.split()
    assert Path(location).resolve().is_relative_to(installed.parent.resolve())
    assert not Path(location).resolve().is_relative_to(ROOT.resolve())
    assert version == dispatchc.__version__


def test_installed_version_command(installed, tmp_path):
    proc = _run([str(installed / "dispatchc"), "--version"], cwd=tmp_path, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"dispatchc {dispatchc.__version__}"


def test_installed_dispatchc_builds_the_committed_samples(installed, tmp_path):
    """The installed command (with the grammar and template from the wheel)
    builds every sample exactly as committed, from a copy in another place."""
    samples = tmp_path / "samples"
    samples.mkdir()
    sources = sorted(SAMPLES.glob("*.disp"))
    assert any(p.name == "flask_dispatching.disp" for p in sources)
    for source in sources:
        shutil.copy2(source, samples / source.name)
    proc = _run(
        [str(installed / "dispatchc"), "build", *[f"samples/{p.name}" for p in sources]],
        cwd=tmp_path,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for source in sources:
        built = (samples / source.name).with_suffix(".py").read_bytes()
        committed = source.with_suffix(".py").read_bytes()
        assert built == committed, (
            f"{source.with_suffix('.py').name} differs when built from the wheel"
        )


def test_installed_dispatchc_reports_errors(installed, tmp_path):
    (tmp_path / "bad.disp").write_text("host example.com {\n    / -> \n}\n", encoding="utf-8")
    proc = _run(
        [str(installed / "python"), "-m", "dispatchc", "build", "bad.disp"],
        cwd=tmp_path,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("bad.disp:2:")
    assert "error[E001]" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "bad.py").exists()
