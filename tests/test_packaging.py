"""The wheel: it ships the grammar and its saved parser, the templates, the
run time and the license, and once installed (non-editable, in a fresh
virtual environment) its ``dispatchc`` command builds the samples byte for
byte as they are committed. The sdist ships the license too; the metadata
names the extras README.md installs; CI installs and tests exactly as
README.md says.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import dispatchc
from dispatchc.targets import recorded_target

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
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source distribution built from this repository."""
    outdir = tmp_path_factory.mktemp("sdist")
    proc = _run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(outdir), str(ROOT)],
        cwd=outdir,
        timeout=BUILD_TIMEOUT,
    )
    assert proc.returncode == 0, f"python -m build --sdist failed:\n{proc.stdout}\n{proc.stderr}"
    [built] = outdir.glob("dispatchc-*.tar.gz")
    return built


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


def test_wheel_ships_grammar_templates_and_run_time(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "dispatchc/disp.lark" in names
        assert "dispatchc/__init__.py" in names
        assert "dispatchc/cli.py" in names
        # The shipped grammar is the repository's grammar.
        grammar = archive.read("dispatchc/disp.lark").decode("utf-8")
        assert grammar == (ROOT / "grammar" / "disp.lark").read_text(encoding="utf-8")
        # So is the parser saved from it (dispatchc/front/grammar.py).
        tables = "dispatchc/front/tables.pickle"
        assert archive.read(tables) == (ROOT / tables).read_bytes()
        # Each target's templates, and the run-time modules whose source the
        # generator copies into every output, as they are in the repository.
        shipped = sorted(ROOT.glob("dispatchc/**/*.j2")) + sorted(
            ROOT.glob("dispatchc/targets/**/runtime/*.py")
        )
        assert any(p.suffix == ".j2" for p in shipped)
        assert any(p.parent.name == "runtime" for p in shipped)
        for path in shipped:
            name = path.relative_to(ROOT).as_posix()
            assert name in names, name
            assert archive.read(name).decode("utf-8") == path.read_text(encoding="utf-8"), name
        entry_points = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert entry_points, "no entry_points.txt in the wheel"
        text = archive.read(entry_points[0]).decode("utf-8")
        assert "dispatchc = dispatchc.cli:run" in text
        assert not any(n.startswith(("tests/", "samples/", ".venv/")) for n in names)


LICENSE = (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_license_is_bsd_3_clause():
    assert LICENSE.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, the dispatchc developers" in LICENSE


def _metadata(wheel: Path):  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode("utf-8"))


def test_wheel_ships_the_license(wheel):
    metadata = _metadata(wheel)
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    with zipfile.ZipFile(wheel) as archive:
        shipped = [
            n for n in archive.namelist() if re.search(r"\.dist-info/(licenses/)?LICENSE$", n)
        ]
        assert len(shipped) == 1, archive.namelist()
        assert archive.read(shipped[0]).decode("utf-8") == LICENSE


def test_sdist_ships_the_license(sdist):
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        member = archive.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read().decode("utf-8") == LICENSE
        names = archive.getnames()
    assert f"{top}/README.md" in names
    assert f"{top}/pyproject.toml" in names


def test_wheel_metadata_urls(wheel):
    urls = dict(value.split(", ", 1) for value in _metadata(wheel).get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Issues"}
    assert all(url.startswith("https://github.com/dispatchc/dispatchc") for url in urls.values())


def _extras(wheel: Path) -> dict[str, set[str]]:
    """Each extra's requirements, by project name."""
    extras: dict[str, set[str]] = {}
    for requirement in _metadata(wheel).get_all("Requires-Dist") or []:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)[^;]*; extra == '([a-z]+)'", requirement)
        if match:
            extras.setdefault(match.group(2), set()).add(match.group(1).lower())
    return extras


def test_extras(wheel):
    """``sample`` serves the samples and no more; ``asgi`` is what an ASGI
    module with WSGI targets imports; ``dev`` has what the tests need,
    ``sample`` and ``asgi`` included; matplotlib is only for the benchmark's
    plot."""
    extras = _extras(wheel)
    assert set(extras) == {"sample", "dev", "bench", "asgi"}
    assert extras["sample"] == {"flask", "gunicorn", "starlette", "uvicorn", "a2wsgi"}
    assert extras["asgi"] == {"a2wsgi"}
    assert extras["sample"] | extras["asgi"] <= extras["dev"]
    assert {"pytest", "hypothesis", "pydot"} <= extras["dev"]
    assert {"hypercorn", "httpx", "websockets", "asgi-lifespan"} <= extras["dev"]
    assert "matplotlib" not in extras["dev"] | extras["sample"]
    assert extras["bench"] == {"matplotlib"}


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```sh\n(.*?)\n```$", text, re.M | re.S)[:2]


def test_ci_installs_and_tests_as_the_readme_says():
    first, second = _readme_commands()
    steps = first.split(" && ")
    install = " && ".join(steps[: next(i for i, s in enumerate(steps) if "dispatchc build" in s)])
    assert install == "python3 -m venv .venv && .venv/bin/pip install -e '.[sample]'"
    assert "python -m pytest" in second and "'.[dev]'" in second
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in run if line and not line.startswith("#")]
    at = commands.index(install)
    assert commands[at : at + 2] == [install, second]
    assert "rm -rf .venv" in commands[:at]  # a fresh environment, as on a new machine
    # The repository's own lint configuration is checked after the tests.
    assert commands[at + 2 :] == [".venv/bin/ruff check .", ".venv/bin/ruff format --check ."]


def test_no_test_uses_a_fixture_that_breaks_junitxml(request):
    """``record_property`` and ``record_xml_attribute`` error under
    ``pytest --junitxml`` (junit_family xunit2) with warnings as errors."""
    bad = {"record_property", "record_xml_attribute"}
    users = [item.nodeid for item in request.session.items if bad & set(item.fixturenames)]
    assert users == []


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
        if recorded_target(source.with_suffix(".py").read_bytes()) != "wsgi":
            # build keeps to the target an existing output was built for.
            shutil.copy2(source.with_suffix(".py"), samples / f"{source.stem}.py")
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
