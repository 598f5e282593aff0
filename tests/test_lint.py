"""`dispatchc lint`: warnings, output formats, exit codes (--resolve: test_resolve.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dispatchc.checks import check
from dispatchc.cli import main
from dispatchc.compiler import analyse
from dispatchc.diagnostics import CODES

from .conftest import ROOT, SAMPLES

BROKEN = ROOT / "tests" / "broken"


def warnings_of(text: str) -> list[tuple[str, int, int, str]]:
    result = analyse("t.disp", textwrap.dedent(text).encode())
    assert result.ok, result.diagnostics
    return [(d.code, d.span.line, d.span.column, d.message) for d in check(result.table)]


# -- each warning ------------------------------------------------------------


def test_w101_unused_name():
    assert warnings_of(
        """\
        use used = app:a
        use spare = app:b
        / -> used
        """
    ) == [("W101", 2, 5, "'spare' is defined but never used")]


def test_w102_block_without_root_route():
    assert warnings_of(
        """\
        host api.example.com {
            /v1 -> api:v1
        }
        /x -> app:x
        """
    ) == [
        (
            "W102",
            1,
            1,
            "host api.example.com has no '/' route: paths that match none of its routes get 404",
        ),
        (
            "W102",
            4,
            1,
            "the default block has no '/' route: paths that match none of its routes get 404",
        ),
    ]


@pytest.mark.parametrize(
    ("route", "loops"),
    [
        ('/old -> redirect 301 "/old{path}"', True),
        ('/old -> redirect 301 "/new{path}"', False),
        ('/old -> redirect 301 "https://example.com/old"', True),
        ('/old -> redirect 301 "https://EXAMPLE.com:443/old/"', True),
        ('/old -> redirect 301 "https://other.example/old"', False),
        ('/{x} -> redirect 302 "/{x}"', True),
        ('/{x} -> redirect 302 "/{x}/more"', True),  # still under /{x}
        ('/a/{x} -> redirect 302 "/b/{x}"', False),
        ('/old -> redirect 301 "mailto:someone@example.com"', False),
    ],
)
def test_w103_redirect_loop(route, loops):
    found = warnings_of(
        f"""\
        host example.com {{
            / -> app:home
            {route}
        }}
        """
    )
    assert [c for c, *_ in found] == (["W103"] if loops else [])


def test_w103_respects_the_port_a_scheme_implies():
    # http://example.com:80 redirecting to https lands on port 443: another block.
    assert (
        warnings_of(
            """\
        host example.com:80 { / -> redirect 301 "https://example.com{path}" }
        host example.com { / -> app:site }
        """
        )
        == []
    )


def test_w103_on_captured_hosts():
    found = warnings_of(
        """\
        host {t}.example.org { / -> redirect 302 "https://{t}.example.org/" }
        """
    )
    assert [(c, line, col) for c, line, col, _ in found] == [("W103", 1, 42)]


def test_w104_same_target_twice():
    assert warnings_of(
        """\
        use one = app:application
        use two = app:application
        /a -> one
        / -> two
        """
    ) == [("W104", 2, 5, "'two' names the same target as 'one'")]


def test_same_module_other_attribute_is_not_a_duplicate():
    assert warnings_of("use a = app:x\nuse b = app:y\n/ -> a\n/b -> b\n") == []


def test_w105_star_in_a_path_segment():
    assert warnings_of(
        """\
        /static/* -> files:application
        /a/*/b -> app:b
        /img/*.png -> app:c
        / -> app:home
        """
    ) == [
        ("W105", 1, 9, "'*' in path segment '*' is matched literally: there are no globs"),
        ("W105", 2, 4, "'*' in path segment '*' is matched literally: there are no globs"),
        ("W105", 3, 6, "'*' in path segment '*.png' is matched literally: there are no globs"),
    ]


def test_w105_help_says_what_to_write(tmp_path, capsys):
    path = write(tmp_path, "/static/* -> files:application\n/ -> app:home\n")
    assert main(["lint", str(path)]) == 0
    assert "= help: write '/static': a route also matches every path below it" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "use site = app:application\n",
    ],
    ids=["empty", "comment", "use-only"],
)
def test_w106_a_file_without_routes(text):
    found = warnings_of(text)
    assert ("W106", 1, 1, "the file has no routes: every request gets 404") in found


def test_w106_not_for_a_file_with_routes():
    assert warnings_of("host example.com {\n    / -> app:a\n}\n") == []


def test_w102_for_the_default_block_too():
    found = warnings_of("/a -> app:a\n")
    assert [(c, line, col) for c, line, col, _ in found] == [("W102", 1, 1)]


# -- warnings beside errors (SPEC §6: everything in one run) ------------------


def lint_rows(tmp_path: Path, text: str, capsys) -> list[tuple[str, int, int]]:
    path = write(tmp_path, text)
    main(["lint", "--format", "json", str(path)])
    return [(r["code"], r["line"], r["column"]) for r in json.loads(capsys.readouterr().out)]


def test_warnings_are_given_beside_errors(tmp_path, capsys):
    # The unused name is reported beside the undefined one (as ruff does).
    assert lint_rows(tmp_path, "use spare = a:b\n/x -> nope\n", capsys) == [
        ("W101", 1, 5),
        ("W102", 2, 1),
        ("E101", 2, 7),
    ]


def test_every_warning_beside_an_error(tmp_path, capsys):
    rows = lint_rows(
        tmp_path,
        """\
        use one = app:x
        use two = app:x
        use spare = app:y
        /old -> redirect 301 "/old"
        /static/* -> one
        /b -> two
        /c -> nope
        """,
        capsys,
    )
    assert rows == [
        ("W104", 2, 5),
        ("W101", 3, 5),
        ("W102", 4, 1),
        ("W103", 4, 22),
        ("W105", 5, 9),
        ("E101", 7, 7),
    ]


def test_a_name_used_only_by_a_route_with_an_error_is_used(tmp_path, capsys):
    # 'tenant' is used by '/', which has an error (and is left out of the
    # table): no W101 for it, and no W102 for the default block.
    assert lint_rows(tmp_path, "use tenant = app:make(t)\n/ -> tenant\n", capsys) == [
        ("E303", 2, 6)
    ]


def test_no_w102_when_the_root_route_has_an_error(tmp_path, capsys):
    text = """\
        host api.example.com {
            / -> tenants:make(tenant)
            /v1 -> api:v1
        }
        """
    assert lint_rows(tmp_path, text, capsys) == [("E303", 2, 23)]


def test_w102_still_given_when_another_route_has_an_error(tmp_path, capsys):
    text = """\
        host api.example.com {
            /v1 -> api:v1 cache 3
        }
        """
    assert lint_rows(tmp_path, text, capsys) == [("W102", 1, 1), ("E308", 2, 19)]


def test_no_w103_when_a_route_with_an_error_would_take_the_redirect(tmp_path, capsys):
    # Without its error, "/old/new" handles the redirect: not a loop.
    text = """\
        / -> app:home
        /old -> redirect 301 "/old/new"
        /old/new -> app:new(version)
        """
    assert lint_rows(tmp_path, text, capsys) == [("E303", 3, 21)]


def test_no_w103_when_a_host_pattern_has_an_error(tmp_path, capsys):
    # The URL's host would go to the block that has an error.
    text = """\
        host new$.example.com { / -> app:site }
        / -> redirect 301 "https://new.example.com/"
        """
    assert lint_rows(tmp_path, text, capsys) == [("E201", 1, 9)]


def test_w103_beside_an_error_elsewhere(tmp_path, capsys):
    text = """\
        / -> app:home
        /old -> redirect 301 "/old/x"
        /new -> app:new cache 3
        """
    assert lint_rows(tmp_path, text, capsys) == [("W103", 2, 22), ("E308", 3, 17)]


def test_no_w106_when_every_route_has_an_error(tmp_path, capsys):
    assert lint_rows(tmp_path, "/ -> nope\n", capsys) == [("E101", 1, 6)]
    assert lint_rows(tmp_path, "host bad$.com { / -> app:a }\n", capsys) == [("E201", 1, 9)]


def test_w105_on_a_route_with_an_error(tmp_path, capsys):
    assert lint_rows(tmp_path, "/ -> app:a\n/files/* -> app:f(name)\n", capsys) == [
        ("W105", 2, 8),
        ("E303", 2, 19),
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"use spare = a:b\n/x nope\n", "E001"), (b"use spare = a:b\n/caf\xe9 -> a:b\n", "E002")],
)
def test_no_warnings_without_a_table(tmp_path, capsys, raw, code):
    # A syntax or encoding error leaves no table to look for warnings in.
    path = tmp_path / "routes.disp"
    path.write_bytes(raw)
    assert main(["lint", "--format", "json", str(path)]) == 1
    assert [r["code"] for r in json.loads(capsys.readouterr().out)] == [code]


# -- every broken file under tests/broken ------------------------------------

EXPECT = re.compile(r"^# expect:((?: [EW]\d{3}@\d+:\d+)+)\s*$")


def expectations(path: Path) -> list[tuple[str, int, int]]:
    match = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} must start with '# expect: CODE@line:col ...'"
    out = []
    for item in match.group(1).split():
        code, _, pos = item.partition("@")
        line, col = pos.split(":")
        out.append((code, int(line), int(col)))
    return out


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.disp")), ids=lambda p: p.stem)
def test_broken_files(path, capsys):
    code = main(["lint", "--format", "json", str(path)])
    rows = json.loads(capsys.readouterr().out)
    found = [(r["code"], r["line"], r["column"]) for r in rows]
    assert found == expectations(path)
    assert code == (1 if any(c.startswith("E") for c, *_ in found) else 0)


def test_broken_files_cover_every_code():
    covered = {c for p in BROKEN.glob("*.disp") for c, *_ in expectations(p)}
    # E002 (bytes), E106/E107/E108, E203 and E4xx are pinned in test_lower.py
    # and below; the broken directory shows the ones users meet most.
    assert covered >= {"E001", "E101", "E103", "E105", "E201", "E202", "E303", "E304"}
    assert covered >= {c for c in CODES if c.startswith("W")}


def test_all_findings_of_all_files_in_one_run(capsys):
    files = sorted(BROKEN.glob("*.disp"))
    assert main(["lint", "--format", "json", *map(str, files)]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert {(Path(r["file"]).name, r["code"]) for r in rows} == {
        (p.name, c) for p in files for c, *_ in expectations(p)
    }


# -- formats and exit codes --------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "routes.disp") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_text_format_on_stderr(tmp_path, capsys):
    path = write(tmp_path, "use spare = app:a\n/ -> status 404\n/x -> app:b cache 3\n")
    assert main(["lint", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"{path}:1:5: warning[W101]: 'spare' is defined but never used\n"
        "  |\n"
        "1 | use spare = app:a\n"
        "  |     ^^^^^\n"
        "  = help: remove the use line, or route a path to it\n"
        "\n"
        f"{path}:3:13: error[E308]: 'cache' applies only to a factory target\n"
        "  |\n"
        "3 | /x -> app:b cache 3\n"
        "  |             ^^^^^^^\n"
        "  = help: a factory is written module:function(args)\n"
        "\n"
        "Found 1 error and 1 warning.\n"
    )


def test_clean_files_exit_0(capsys):
    files = sorted(str(p) for p in SAMPLES.glob("*.disp"))
    assert main(["lint", *files]) == 0
    assert capsys.readouterr().err == f"All checks passed ({len(files)} files).\n"


def test_warnings_alone_exit_0(tmp_path, capsys):
    path = write(tmp_path, "use spare = app:a\n/ -> status 404\n")
    assert main(["lint", str(path)]) == 0
    assert "warning[W101]" in capsys.readouterr().err


def test_json_format_is_stable(tmp_path, capsys):
    path = write(tmp_path, "/ -> status 99\n/x -> nope\n")
    assert main(["lint", "--format", "json", str(path)]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == [
        {
            "file": str(path),
            "line": 1,
            "column": 13,
            "end_line": 1,
            "end_column": 15,
            "code": "E305",
            "name": "invalid-status",
            "severity": "error",
            "message": "status code 99 is not between 200 and 599",
            "help": None,
        },
        {
            "file": str(path),
            "line": 2,
            "column": 7,
            "end_line": 2,
            "end_column": 11,
            "code": "E101",
            "name": "undefined-name",
            "severity": "error",
            "message": "undefined name 'nope'",
            "help": "define it with: use NAME = module:attr",
        },
    ]


def test_json_for_clean_file_is_an_empty_list(capsys):
    assert main(["lint", "--format", "json", str(SAMPLES / "flask_dispatching.disp")]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_github_format(tmp_path, capsys):
    path = write(tmp_path, "use spare = app:a\n/ -> status 700\n", name="a,b:c.disp")
    assert main(["lint", "--format", "github", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    escaped = str(path).replace(",", "%2C").replace(":", "%3A")
    assert lines == [
        f"::warning file={escaped},line=1,col=5,title=W101::'spare' is defined but never used",
        f"::error file={escaped},line=2,col=13,title=E305::"
        "status code 700 is not between 200 and 599",
    ]


def test_github_escapes_message_text(tmp_path, capsys):
    # A '%' in a message must not start an escape sequence in the annotation.
    path = write(
        tmp_path, 'use a = app:x\nuse b = app:x\n/ -> a\n/b -> redirect 302 "/%41{path}"\n'
    )
    assert main(["lint", "--format", "github", str(path)]) == 0
    out = capsys.readouterr().out
    assert "::warning file=" in out and "title=W104::" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["lint"],
        ["lint", "--format", "xml", "x.disp"],
        ["lint", "does-not-exist.disp"],
        ["lint", "--bogus", "x.disp"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_lint_through_python_m(tmp_path):
    path = write(tmp_path, "/ -> status 404\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dispatchc", "lint", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]")
