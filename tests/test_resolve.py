"""`dispatchc lint --resolve`: targets imported in a child process (SPEC §6)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dispatchc.cli import main
from dispatchc.compiler import analyse
from dispatchc.tools.resolve import resolve

from .conftest import SAMPLES


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path):
    write(
        tmp_path,
        "apps.py",
        """\
        def application(environ, start_response):
            return []
        settings = {'debug': True}
        def make_app(name):
            return None
        """,
    )
    write(tmp_path, "broken_import.py", "raise RuntimeError('no database')\n")
    write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    return tmp_path


def resolve_rows(project: Path, routes: str, capsys) -> tuple[int, list[tuple[str, int, int, str]]]:
    path = write(project, "routes.disp", routes)
    code = main(["lint", "--resolve", "--format", "json", str(path)])
    rows = json.loads(capsys.readouterr().out)
    return code, [(r["code"], r["line"], r["column"], r["message"]) for r in rows]


def test_resolve_reports_each_kind_of_problem(project, capsys):
    code, rows = resolve_rows(
        project,
        """\
        use site = apps:application
        / -> site
        /f/{n} -> apps:make_app(n) lazy
        /a -> apps:missing
        /b -> apps:settings
        /c -> nosuch.module:app
        /d -> broken_import:app
        /e -> apps:application.nope.deeper
        /g -> exits:app
        """,
        capsys,
    )
    assert code == 1
    assert rows == [
        ("E402", 4, 12, "module 'apps' has no attribute 'missing'"),
        ("E403", 5, 12, "'apps:settings' is a dict, not a callable"),
        (
            "E401",
            6,
            7,
            "module 'nosuch.module' cannot be imported "
            "(ModuleNotFoundError: No module named 'nosuch')",
        ),
        ("E401", 7, 7, "module 'broken_import' cannot be imported (RuntimeError: no database)"),
        ("E402", 8, 12, "module 'apps' has no attribute 'application.nope'"),
        ("E401", 9, 7, "module 'exits' cannot be imported (SystemExit: 3)"),
    ]


def test_resolve_reports_a_use_target_where_it_is_written(project, capsys):
    code, rows = resolve_rows(project, "use site = apps:gone\n/ -> site\n/x -> site\n", capsys)
    assert (code, rows) == (1, [("E402", 1, 17, "module 'apps' has no attribute 'gone'")])


def test_resolve_clean(project, capsys):
    code, rows = resolve_rows(project, "/ -> apps:application\n/{n} -> apps:make_app(n)\n", capsys)
    assert (code, rows) == (0, [])


def test_resolve_does_not_import_into_the_linter(project, capsys):
    resolve_rows(project, "/ -> apps:application\n", capsys)
    assert "apps" not in sys.modules


def test_resolve_on_the_sample(capsys):
    assert main(["lint", "--resolve", str(SAMPLES / "flask_dispatching.disp")]) == 0


def test_resolve_also_checks_a_file_with_errors(project, capsys):
    code, rows = resolve_rows(project, "/ -> apps:missing\n/x -> nope\n", capsys)
    assert code == 1
    assert [c for c, *_ in rows] == ["E402", "E101"]


# -- E402: did you mean ------------------------------------------------------


def test_missing_attribute_suggests_the_closest_name(project, capsys):
    path = write(project, "routes.disp", "/ -> apps:aplication\n/m/{n} -> apps:make_ap(n)\n")
    assert main(["lint", "--resolve", "--format", "json", str(path)]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(r["code"], r["help"]) for r in rows] == [
        ("E402", "did you mean 'application'?"),
        ("E402", "did you mean 'make_app'?"),
    ]


def test_missing_dotted_attribute_suggests_inside_the_object(tmp_path, capsys):
    write(
        tmp_path,
        "portal.py",
        """\
        class Site:
            def wsgi_app(self, environ, start_response):
                return []
        site = Site()
        """,
    )
    path = write(tmp_path, "routes.disp", "/ -> portal:site.wsgi_ap\n/x -> portal:xyz\n")
    assert main(["lint", "--resolve", "--format", "json", str(path)]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(r["message"], r["help"]) for r in rows] == [
        ("module 'portal' has no attribute 'site.wsgi_ap'", "did you mean 'site.wsgi_app'?"),
        ("module 'portal' has no attribute 'xyz'", None),
    ]


# -- E404: the target cannot be called as the generated module calls it -------

SIGNATURES = """\
import functools


def make_app(tenant):
    return None


def make_two(tenant, region):
    return None


def with_default(tenant, region="eu"):
    return None


def at_least_one(first, *rest):
    return None


def anything(*args, **kwargs):
    return None


def app(environ, start_response):
    return []


def app_with_option(environ, start_response, debug=False):
    return []


def app_needing_keyword(environ, start_response, *, config):
    return []


def app_with_keyword(environ, start_response, *, config=None):
    return []


def no_arguments():
    return None


class AppClass:
    def __init__(self, environ, start_response):
        self.body = []


class FactoryClass:
    def __init__(self, tenant):
        self.tenant = tenant


class Handler:
    def __call__(self, environ):
        return []


class WsgiObject:
    def __call__(self, environ, start_response):
        return []


class _NoSignature:
    # Like a builtin without a signature: inspect.signature() raises.
    @property
    def __signature__(self):
        raise ValueError("no signature found")

    def __call__(self, only):
        return []


handler = Handler()
wsgi_object = WsgiObject()
opaque = _NoSignature()
bound = functools.partial(make_two, "acme")
"""


@pytest.fixture
def targets(tmp_path):
    write(tmp_path, "targets.py", SIGNATURES)
    return tmp_path


def e404(directory: Path, route: str, capsys) -> list[str]:
    path = write(directory, "routes.disp", route + "\n")
    code = main(["lint", "--resolve", "--format", "json", str(path)])
    rows = [r for r in json.loads(capsys.readouterr().out) if r["severity"] == "error"]
    assert code == (1 if rows else 0)
    assert all(r["code"] == "E404" and r["name"] == "wrong-signature" for r in rows), rows
    return [r["message"] for r in rows]


@pytest.mark.parametrize(
    "route",
    [
        "/ -> targets:app",
        "/ -> targets:app lazy",
        "/ -> targets:app_with_option",
        "/ -> targets:app_with_keyword",
        "/ -> targets:anything",
        "/ -> targets:AppClass",
        "/ -> targets:wsgi_object",
        "/ -> targets:opaque",
        "/{t} -> targets:make_app(t)",
        "/{t} -> targets:make_app(t) lazy",
        '/{t} -> targets:make_two(t, "eu")',
        "/{t} -> targets:with_default(t)",
        '/{t} -> targets:with_default(t, "us")',
        "/{t} -> targets:at_least_one(t, 1, 2)",
        "/{t} -> targets:anything(t)",
        "/{t} -> targets:FactoryClass(t)",
        "/{t} -> targets:handler(t)",
        "/{t} -> targets:bound(t)",
        "/ -> targets:no_arguments()",
    ],
)
def test_callables_that_fit(targets, capsys, route):
    assert e404(targets, route, capsys) == []


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            "/ -> targets:make_app",
            "targets:make_app takes 1 argument (tenant), but an application is called with 2 "
            "(environ, start_response); did you mean targets:make_app(tenant)?",
        ),
        (
            # lazy only defers the import at run time: it is checked all the same.
            "/ -> targets:make_app lazy",
            "targets:make_app takes 1 argument (tenant), but an application is called with 2 "
            "(environ, start_response); did you mean targets:make_app(tenant)?",
        ),
        (
            "/ -> targets:no_arguments",
            "targets:no_arguments takes no arguments, but an application is called with 2 "
            "(environ, start_response); did you mean targets:no_arguments()?",
        ),
        (
            "/ -> targets:app_needing_keyword",
            "targets:app_needing_keyword requires the keyword-only argument 'config', "
            "but targets are called with positional arguments only",
        ),
        (
            "/ -> targets:FactoryClass",
            "targets:FactoryClass takes 1 argument (tenant), but an application is called with 2 "
            "(environ, start_response); did you mean targets:FactoryClass(tenant)?",
        ),
        (
            "/ -> targets:handler",
            "targets:handler takes 1 argument (environ), but an application is called with 2 "
            "(environ, start_response); did you mean targets:handler(environ)?",
        ),
        (
            "/ -> targets:bound",
            "targets:bound takes 1 argument (region), but an application is called with 2 "
            "(environ, start_response); did you mean targets:bound(region)?",
        ),
        (
            "/{t} -> targets:make_two(t)",
            "targets:make_two takes 2 arguments (tenant, region), but the route passes 1",
        ),
        (
            "/{t} -> targets:make_app(t, 1)",
            "targets:make_app takes 1 argument (tenant), but the route passes 2",
        ),
        (
            "/ -> targets:with_default()",
            "targets:with_default takes 1 to 2 arguments (tenant, region), but the route passes 0",
        ),
        (
            "/ -> targets:at_least_one()",
            "targets:at_least_one takes at least 1 argument (first, *rest), but the route passes 0",
        ),
        (
            "/{t} -> targets:app(t)",
            "targets:app takes 2 arguments (environ, start_response), but the route passes 1",
        ),
        (
            "/{t} -> targets:app_needing_keyword(t, 1)",
            "targets:app_needing_keyword requires the keyword-only argument 'config', "
            "but targets are called with positional arguments only",
        ),
    ],
)
def test_callables_that_do_not_fit(targets, capsys, route, message):
    assert e404(targets, route, capsys) == [message]


def test_wrong_signature_of_a_use_target_is_reported_where_it_is_written(targets, capsys):
    path = write(
        targets,
        "routes.disp",
        """\
        use tenant = targets:make_two(t)
        /{t} -> tenant
        /x/{t} -> tenant
        / -> status 404
        """,
    )
    assert main(["lint", "--resolve", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}:1:14: error[E404]: targets:make_two takes 2 arguments (tenant, region), "
        "but the route passes 1\n"
        "  |\n"
        "1 | use tenant = targets:make_two(t)\n"
        "  |              ^^^^^^^^^^^^^^^^^^^\n"
        "  = help: a factory is called with the route's arguments, in the order written\n"
        "\n"
        "Found 1 error and 0 warnings.\n"
    )


# -- the channel: what a target prints or leaves behind ------------------------


def test_output_of_a_target_is_not_read_as_results(tmp_path, capsys):
    # Lines that imitate results, at import and at exit, change nothing.
    write(
        tmp_path,
        "noisy.py",
        """\
        import atexit
        import sys
        print('[["ok", ""], ["ok", ""], ["ok", ""]]')
        print('["ok"]')
        sys.stderr.write("warning: noisy\\n")
        atexit.register(print, '\\n[["ok", ""], ["ok", ""], ["ok", ""]]')
        atexit.register(print, '["ok"]\\n["ok"]\\n["ok"]')
        def application(environ, start_response):
            return []
        settings = {}
        """,
    )
    code, rows = resolve_rows(
        tmp_path,
        "/ -> noisy:application\n/a -> noisy:missing\n/b -> noisy:settings\n",
        capsys,
    )
    assert code == 1
    assert rows == [
        ("E402", 2, 13, "module 'noisy' has no attribute 'missing'"),
        ("E403", 3, 13, "'noisy:settings' is a dict, not a callable"),
    ]


def test_garbage_on_stdout_is_not_an_error(tmp_path, capsys):
    write(
        tmp_path,
        "chatty.py",
        """\
        import atexit
        print("starting up {not json")
        atexit.register(print, "bye }")
        def application(environ, start_response):
            return []
        """,
    )
    assert resolve_rows(tmp_path, "/ -> chatty:application\n", capsys) == (0, [])


def test_a_target_cannot_spoof_results_on_stdout(tmp_path, capsys):
    # A target that is missing must be reported, whatever the module prints.
    write(
        tmp_path,
        "spoof.py",
        """\
        import atexit, json, os
        fake = json.dumps([["ok", ""]])
        print(fake)
        os.write(1, ("\\n" + json.dumps(["ok"]) + "\\n").encode())
        atexit.register(lambda: print("\\n" + fake))
        """,
    )
    code, rows = resolve_rows(tmp_path, "/ -> spoof:application\n", capsys)
    assert (code, rows) == (1, [("E402", 1, 12, "module 'spoof' has no attribute 'application'")])


@pytest.fixture
def background_pid(tmp_path):
    """Kill the process that the target below leaves running."""
    pid_file = tmp_path / "background.pid"
    yield pid_file
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_process_left_running_does_not_hold_up_lint(tmp_path, capsys, background_pid):
    write(
        tmp_path,
        "spawns.py",
        f"""\
        import subprocess
        _daemon = subprocess.Popen(["sleep", "30"], start_new_session=True)
        with open({str(background_pid)!r}, "w") as f:
            f.write(str(_daemon.pid))
        def application(environ, start_response):
            return []
        """,
    )
    start = time.monotonic()
    code, rows = resolve_rows(tmp_path, "/ -> spawns:application\n/x -> spawns:gone\n", capsys)
    elapsed = time.monotonic() - start
    assert rows == [("E402", 2, 14, "module 'spawns' has no attribute 'gone'")]
    assert background_pid.exists()
    assert elapsed < 15, f"lint waited {elapsed:.1f} s for the background process"


def test_a_process_holding_stdout_does_not_hold_up_lint(tmp_path, capsys, background_pid):
    # The background process keeps the child's stdout and stderr open.
    write(
        tmp_path,
        "holds.py",
        f"""\
        import subprocess, sys
        _daemon = subprocess.Popen(
            ["sleep", "30"], start_new_session=True, stdout=sys.stdout, stderr=sys.stderr
        )
        with open({str(background_pid)!r}, "w") as f:
            f.write(str(_daemon.pid))
        def application(environ, start_response):
            return []
        """,
    )
    start = time.monotonic()
    assert resolve_rows(tmp_path, "/ -> holds:application\n", capsys) == (0, [])
    assert time.monotonic() - start < 15


def table_of(directory: Path, text: str):
    result = analyse(str(directory / "routes.disp"), textwrap.dedent(text).encode())
    assert result.ok and result.table is not None
    return result.table


def test_a_target_that_hangs_is_named(tmp_path):
    write(tmp_path, "slow.py", "import time\ntime.sleep(60)\n")
    write(tmp_path, "fine.py", "def application(environ, start_response):\n    return []\n")
    table = table_of(tmp_path, "/ -> fine:missing\n/slow -> slow:application\n")
    start = time.monotonic()
    found = resolve(table, str(tmp_path), timeout=2)
    assert time.monotonic() - start < 15
    assert [(d.code, d.span.line, d.span.column, d.message) for d in found] == [
        ("E402", 1, 11, "module 'fine' has no attribute 'missing'"),
        ("E401", 2, 10, "importing module 'slow' did not finish within 2 s"),
    ]


def test_a_target_that_ends_the_interpreter_is_named_and_the_rest_checked(tmp_path, capsys):
    write(
        tmp_path,
        "quits.py",
        """\
        import os, sys
        sys.stderr.write("fatal: no config\\n")
        os._exit(4)
        """,
    )
    write(tmp_path, "fine.py", "def application(environ, start_response):\n    return []\n")
    code, rows = resolve_rows(
        tmp_path, "/ -> fine:application\n/q -> quits:app\n/z -> fine:gone\n", capsys
    )
    assert code == 1
    assert rows == [
        ("E401", 2, 7, "importing module 'quits' stopped the interpreter (fatal: no config)"),
        ("E402", 3, 12, "module 'fine' has no attribute 'gone'"),
    ]
