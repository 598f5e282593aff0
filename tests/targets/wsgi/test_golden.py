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

import ast
import difflib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dispatchc.cli import main
from dispatchc.compiler import compile_file
from dispatchc.targets import recorded_target

from ...helpers import ROOT, SAMPLES, clean_env

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "routes.disp").is_file())
UPDATE_ENV = "DISPATCHC_UPDATE_GOLDEN"
REGENERATE = f"{UPDATE_ENV}=1 .venv/bin/python -m pytest tests/targets/wsgi/test_golden.py"
RUFF_RULES = "E4,E7,E9,F,W,B,UP,SIM,I"
TIMEOUT = 120

# Every generated WSGI module: the golden files and the committed sample
# outputs built for the WSGI target (tests/targets/asgi checks the others).
OUTPUTS = [(f"wsgi/cases/{case.name}", case / "expected.py") for case in CASES] + [
    (f"samples/{disp.stem}", disp.with_suffix(".py"))
    for disp in sorted(SAMPLES.glob("*.disp"))
    if recorded_target(disp.with_suffix(".py").read_bytes()) == "wsgi"
]


def _updating() -> bool:
    return os.environ.get(UPDATE_ENV) == "1"


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def check_golden(disp: Path, expected: Path, *, update: bool) -> None:
    """Compare the build of ``disp`` with ``expected``; rewrite it when ``update``."""
    built = compile_file(disp, expected)
    current = expected.read_text(encoding="utf-8") if expected.exists() else None
    if current == built:
        return
    if update:
        expected.write_text(built, encoding="utf-8", newline="\n")
        return
    if current is None:
        pytest.fail(
            f"{_display(expected)} does not exist.\nCreate it with:\n    {REGENERATE}",
            pytrace=False,
        )
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            built.splitlines(keepends=True),
            fromfile=f"{_display(expected)} (expected)",
            tofile=f"{_display(disp)} (built now)",
        )
    )
    pytest.fail(
        f"the build of {_display(disp)} differs from {_display(expected)}:\n\n{diff}\n"
        f"If the change is intended, regenerate the golden files and review them:\n"
        f"    {REGENERATE}",
        pytrace=False,
    )


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
    check_golden(case / "routes.disp", case / "expected.py", update=_updating())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_cli_check_agrees_with_golden(case, capsys):
    """``dispatchc build --check`` sees the golden file as up to date."""
    if _updating():
        pytest.skip("golden files are being regenerated")
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
        check_golden(disp, expected, update=False)
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
        check_golden(disp, tmp_path / "expected.py", update=False)
    assert REGENERATE in str(failed.value)
    assert not (tmp_path / "expected.py").exists()


def test_update_rewrites_the_expected_file(tmp_path):
    disp = tmp_path / "routes.disp"
    disp.write_text("/ -> app:application\n", encoding="utf-8")
    expected = tmp_path / "expected.py"
    expected.write_text("stale\n", encoding="utf-8")
    check_golden(disp, expected, update=True)
    assert expected.read_text(encoding="utf-8") == compile_file(disp, expected)
    check_golden(disp, expected, update=False)  # now current
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "routes.disp").write_bytes(disp.read_bytes())
    check_golden(tmp_path / "new" / "routes.disp", tmp_path / "new" / "expected.py", update=True)
    assert (tmp_path / "new" / "expected.py").exists()


# -- properties of every generated module (SPEC §5) ------------------------------------


def _source(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{_display(path)} is missing; {REGENERATE}", pytrace=False)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_compiles(name, path):
    code = compile(_source(path), str(path), "exec")
    assert code is not None


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_passes_ruff(name, path):
    _source(path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            RUFF_RULES,
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in generated code"
            names.add(node.module or "")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
        ):
            raise AssertionError("__import__ in generated code")
    return names


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_imports_only_stdlib(name, path):
    tree = ast.parse(_source(path))
    imported = _imported_modules(tree)
    assert imported, "no imports at all?"
    outside = sorted(m for m in imported if m.split(".")[0] not in sys.stdlib_module_names)
    assert not outside, f"{name} imports {outside}"
    assert "dispatchc" not in {m.split(".")[0] for m in imported}


def _targets(code: str) -> dict[str, set[str]]:
    """module -> dotted attributes that the generated code loads.

    A target is loaded by a call whose first two arguments are string
    literals: a dotted module name and a dotted attribute path.
    """

    def dotted(value: object) -> bool:
        return isinstance(value, str) and all(part.isidentifier() for part in value.split("."))

    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            first, second = node.args[0], node.args[1]
            if (
                isinstance(first, ast.Constant)
                and isinstance(second, ast.Constant)
                and dotted(first.value)
                and dotted(second.value)
            ):
                found.setdefault(first.value, set()).add(second.value)
    return found


_STUB_PRELUDE = '''\
"""A stub target for an import test."""


class _Stub:
    """A WSGI application, a factory returning one, and a namespace."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __call__(self, *args):
        if len(args) == 2 and isinstance(args[0], dict):
            environ, start_response = args
            body = ("stub " + environ.get("SCRIPT_NAME", "") + "|" + environ.get("PATH_INFO", ""))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [body.encode("latin-1")]
        return self


'''


def _stub_expr(tree: dict) -> str:
    inner = ", ".join(f"{key}={_stub_expr(value)}" for key, value in sorted(tree.items()))
    return f"_Stub({inner})"


def write_stubs(root: Path, targets: dict[str, set[str]]) -> set[str]:
    """Create importable stub modules for ``targets`` under ``root``; top-level names."""
    files: dict[Path, dict] = {}
    for module in targets:
        parts = module.split(".")
        for depth in range(1, len(parts)):
            files.setdefault(root.joinpath(*parts[:depth]) / "__init__.py", {})
    for module, attrs in targets.items():
        parts = module.split(".")
        package = root.joinpath(*parts) / "__init__.py"
        path = package if package in files else root.joinpath(*parts[:-1]) / f"{parts[-1]}.py"
        tree = files.setdefault(path, {})
        for attr in attrs:
            node = tree
            for part in attr.split("."):
                node = node.setdefault(part, {})
    for path, tree in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"{name} = {_stub_expr(sub)}\n" for name, sub in sorted(tree.items()))
        path.write_text(_STUB_PRELUDE + body, encoding="utf-8")
    return {module.split(".")[0] for module in targets}


_IMPORT_CHECK = textwrap.dedent(
    """\
    import json
    import sys

    stubs = set(sys.argv[1].split(","))
    before = set(sys.modules)
    import generated_dispatcher as routes
    after = set(sys.modules)
    foreign = sorted(
        name
        for name in after - before
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in stubs
        and name != "generated_dispatcher"
    )
    assert not foreign, foreign
    assert callable(routes.application)

    results = []
    for host, path in json.loads(sys.argv[2]):
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
)

REQUESTS = [
    ("localhost", "/"),
    ("example.com", "/"),
    ("example.com", "/api/v2/x"),
    ("www.example.com:8080", "/docs"),
    ("a.example.com", "/orgs/o/repos/r"),
    ("a.b.example.com", "/u/bob"),
    ("api.example.com:8080", "/"),
    ("xn--bcher-kva.example", "/"),
    ("x.people.example.com", "/page"),
    ("old.example.com", "/blog/2024/post"),
    ("example.org", "/args/v"),
    ("example.org", "/a/b/c"),
    ("example.org", "/braces/x"),
    ("example.org", "/caf\u00c3\u00a9"),
    ("[::1]", "/static/assets/app.css"),
    ("bad host", "/"),
    ("a..b", "/"),
]


@pytest.mark.parametrize(("name", "path"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_output_imports_under_warnings_as_errors(name, path, tmp_path):
    code = _source(path)
    targets = _targets(code)
    stubs = write_stubs(tmp_path, targets)
    clash = sorted(stubs & set(sys.stdlib_module_names))
    assert not clash, f"a target module of {name} shadows the standard library: {clash}"
    (tmp_path / "generated_dispatcher.py").write_text(code, encoding="utf-8")
    env = clean_env(PYTHONPATH=str(tmp_path))
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            _IMPORT_CHECK,
            ",".join(sorted(stubs)) or "-",
            json.dumps(REQUESTS),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    statuses = json.loads(proc.stdout)
    assert len(statuses) == len(REQUESTS)


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
