"""Golden files of the WSGI target: each
``tests/targets/wsgi/cases/<name>/routes.disp`` compiles to exactly
``tests/targets/wsgi/cases/<name>/expected.py``. After an intended change to
the generated code, regenerate them with::

    DISPATCHC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/targets/wsgi/test_golden.py

and review the diff (``test_agreement.py`` proves the semantics; read the
code too). Every golden output and every committed sample output
must also meet SPEC §5: it compiles, passes ruff with the rules the SPEC
names, imports under ``python -W error`` with its targets importable, and
imports nothing but the standard library and its targets.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dispatchc.cli import main
from dispatchc.compiler import compile_file
from dispatchc.targets import recorded_target

from ...helpers import (
    GOLDEN_REQUESTS,
    SAMPLES,
    Goldens,
    import_with_stubs,
    imported_modules,
    ruff_check,
    write_stubs,
)

GOLDENS = Goldens("wsgi")
CASES = GOLDENS.cases
REGENERATE = GOLDENS.regenerate
TIMEOUT = 120

# Every generated WSGI module: the golden files and the committed sample
# outputs built for the WSGI target (tests/targets/asgi checks the others).
OUTPUTS = [(f"wsgi/cases/{case.name}", case / "expected.py") for case in CASES] + [
    (f"samples/{disp.stem}", disp.with_suffix(".py"))
    for disp in sorted(SAMPLES.glob("*.disp"))
    if recorded_target(disp.with_suffix(".py").read_bytes()) == "wsgi"
]


# -- the golden comparison ---------------------------------------------------------


def test_there_are_golden_cases():
    names = {case.name for case in CASES}
    assert {
        "minimal",
        "mounts",
        "hosts",
        "factories",
        "redirects_and_status",
        "adversarial_strings",
    } <= names


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden(case):
    GOLDENS.check(case / "routes.disp", case / "expected.py", update=GOLDENS.updating())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_cli_check_agrees_with_golden(case, capsys):
    """``dispatchc build --check`` sees the golden file as up to date."""
    code = main(["build", "--check", str(case / "routes.disp"), "-o", str(case / "expected.py")])
    assert code == 0, capsys.readouterr().err


def test_mismatch_shows_a_diff_and_how_to_regenerate(tmp_path):
    disp = tmp_path / "routes.disp"
    disp.write_text("/ -> app:application\n", encoding="utf-8")
    expected = tmp_path / "expected.py"
    built = compile_file(disp, expected)
    loaded = "_dc_app_app__application = _dc_load('app', 'application')"
    assert loaded in built
    expected.write_text(built.replace(loaded, "_dc_app_app__application = stale()"))
    with pytest.raises(pytest.fail.Exception) as failed:
        GOLDENS.check(disp, expected, update=False)
    message = str(failed.value)
    assert "--- " in message and "+++ " in message and "@@" in message
    assert "\n-_dc_app_app__application = stale()\n" in message
    assert f"\n+{loaded}\n" in message
    assert REGENERATE in message
    # Nothing is rewritten without the environment variable.
    assert "stale()" in expected.read_text(encoding="utf-8")


def test_missing_expected_file_says_how_to_create_it(tmp_path):
    disp = tmp_path / "routes.disp"
    disp.write_text("/ -> app:application\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as failed:
        GOLDENS.check(disp, tmp_path / "expected.py", update=False)
    assert REGENERATE in str(failed.value)
    assert not (tmp_path / "expected.py").exists()


def test_update_rewrites_the_expected_file(tmp_path):
    disp = tmp_path / "routes.disp"
    disp.write_text("/ -> app:application\n", encoding="utf-8")
    expected = tmp_path / "expected.py"
    expected.write_text("stale\n", encoding="utf-8")
    GOLDENS.check(disp, expected, update=True)
    assert expected.read_text(encoding="utf-8") == compile_file(disp, expected)
    GOLDENS.check(disp, expected, update=False)  # now current
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "routes.disp").write_bytes(disp.read_bytes())
    GOLDENS.check(tmp_path / "new" / "routes.disp", tmp_path / "new" / "expected.py", update=True)
    assert (tmp_path / "new" / "expected.py").exists()


# -- properties of every generated module (SPEC §5) ------------------------------------


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_compiles(name, path):
    code = compile(GOLDENS.read(path), str(path), "exec")
    assert code is not None


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_passes_ruff(name, path):
    GOLDENS.read(path)
    proc = ruff_check(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_imports_only_stdlib(name, path):
    imported = imported_modules(GOLDENS.read(path))
    assert imported, "no imports at all?"
    outside = sorted(m for m in imported if m.split(".")[0] not in sys.stdlib_module_names)
    assert not outside, f"{name} imports {outside}"
    assert "dispatchc" not in {m.split(".")[0] for m in imported}


#: Sends each (host, PATH_INFO) of ``data`` to ``routes.application``; prints the statuses.
_DRIVE = """\
    results = []
    for host, path in data:
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "a=1",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host,
            "wsgi.url_scheme": "http",
        }
        seen = []

        def start_response(status, headers, exc_info=None, seen=seen):
            seen.append(status)

        body = b"".join(routes.application(environ, start_response))
        assert len(seen) == 1 and seen[0][:3].isdigit(), seen
        results.append(seen[0][:3])
    print(json.dumps(results))
"""


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_imports_under_warnings_as_errors(name, path, tmp_path):
    statuses = import_with_stubs(GOLDENS.read(path), tmp_path, _DRIVE, GOLDEN_REQUESTS)
    assert len(statuses) == len(GOLDEN_REQUESTS)


def test_stubs_cover_packages_and_dotted_attributes(tmp_path):
    stubs = write_stubs(
        tmp_path,
        {"pkg": {"make"}, "pkg.sub": {"app.wsgi_app", "app"}, "solo": {"application"}},
    )
    assert stubs == {"pkg", "solo"}
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            "import pkg, pkg.sub, solo; "
            "assert pkg.make('x') is pkg.make; "
            "assert callable(pkg.sub.app.wsgi_app); "
            "print(b''.join(solo.application({'PATH_INFO': '/p'}, lambda s, h: None)))",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stub |/p" in proc.stdout
