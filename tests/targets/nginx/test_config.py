"""The generated nginx configuration: goldens, ``nginx -t``, gixy-ng and a
crossplane parse of every sample and of adversarial strings.

After an intended change to the output, regenerate the goldens with::

    DISPATCHC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/targets/nginx/test_config.py

and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import crossplane
import pytest

from dispatchc.compiler import compile_source, load
from dispatchc.targets.nginx.target import path_text
from dispatchc.targets.nginx.upstreams import Input

from .live import nginx_test

ROOT = Path(__file__).resolve().parents[3]
CASES_DIR = Path(__file__).resolve().parent / "cases"
EDGE = Path(__file__).resolve().parent / "edge"
UPDATE = os.environ.get("DISPATCHC_UPDATE_GOLDEN") == "1"


def _source(case: Path) -> Path:
    own = case / "routes.disp"
    return own if own.is_file() else ROOT / "samples" / f"{case.name}.disp"


CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "upstreams.toml").is_file())


def _build(source: Path, upstreams: Path, output: Path) -> str:
    options = {"upstreams": Input(upstreams, upstreams.read_bytes())}
    return compile_source(source, source.read_bytes(), output, "nginx", options)


@pytest.fixture(params=CASES, ids=lambda p: p.name)
def built(request, tmp_path):
    case = request.param
    source = _source(case)
    expected = case / "expected.nginx.conf"
    text = _build(source, case / "upstreams.toml", expected)
    return case, source, expected, text


def test_golden(built):
    case, _, expected, text = built
    if UPDATE:
        expected.write_text(text, encoding="utf-8")
    assert expected.read_text(encoding="utf-8") == text, f"regenerate: see {__doc__}"


def test_nginx_t(built, tmp_path):
    _, _, _, text = built
    conf = tmp_path / "routes.nginx.conf"
    conf.write_text(text, encoding="utf-8")
    result = nginx_test(tmp_path / "prefix", conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


# gixy-ng's HIGH findings that docs/deploy.md lists as false positives, each
# with the test that shows the request side is safe:
#   - `rewrite ^ $uri break;`: nginx escapes the rewritten URI again before
#     it proxies it (test_live.py::test_no_header_injection_into_the_backend_request);
#   - `$N` in a redirect: a 301/302 `rewrite` escapes what it substitutes
#     (test_live.py::test_no_header_injection_into_a_redirect), and the
#     `if ($uri ~ ...)` of a 303/307/308 only captures text without control
#     characters (test_live.py::test_N107_control_characters_in_a_return_redirect).
FALSE_POSITIVES = [
    ("http_splitting", re.compile(r'^At least variable "\$(uri|[1-9])" can contain "\\n"$')),
]


def _gixy(conf: Path, tmp_path: Path) -> list[dict]:
    wrapper = tmp_path / "gixy" / "nginx.conf"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(f"events {{}}\nhttp {{\n    include {conf};\n}}\n", encoding="utf-8")
    gixy = Path(sys.executable).with_name("gixy")
    result = subprocess.run(
        [str(gixy), "-f", "json", str(wrapper)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def test_gixy_has_no_high_finding(built, tmp_path):
    _, _, _, text = built
    conf = tmp_path / "routes.nginx.conf"
    conf.write_text(text, encoding="utf-8")
    for finding in _gixy(conf, tmp_path):
        if finding.get("severity") != "HIGH":
            continue
        known = any(
            finding.get("plugin") == plugin and pattern.match(finding.get("reason") or "")
            for plugin, pattern in FALSE_POSITIVES
        )
        assert known, finding


def test_gixy_sees_a_real_splitting(tmp_path):
    """The gixy check is not vacuous: a hand-written `return 302 .../$uri`
    (what the generator never writes) is a HIGH finding."""
    conf = tmp_path / "bad.conf"
    conf.write_text(
        'server {\n    listen 80;\n    location / {\n        return 302 "https://x$uri";\n'
        "    }\n}\n",
        encoding="utf-8",
    )
    assert any(f.get("severity") == "HIGH" for f in _gixy(conf, tmp_path))


def _directives(tree: list[dict], name: str) -> list[dict]:
    out = []
    for d in tree:
        if d["directive"] == name:
            out.append(d)
        out += _directives(d.get("block", []), name)
    return out


def test_crossplane_reads_back_every_string(built):
    """A parser reads the configuration back into the strings the routing
    file holds: literal paths, exact hosts and listen addresses."""
    case, source, _, text = built
    parsed = crossplane.parse(
        str(case / "expected.nginx.conf"),
        single=True,
        comments=False,
        check_ctx=False,
        check_args=False,
    )
    assert parsed["status"] == "ok", parsed["errors"]
    tree = parsed["config"][0]["parsed"]
    plan = load(str(source), source.read_bytes()).plan
    assert plan is not None
    names = {a for d in _directives(tree, "server_name") for a in d["args"]}
    exact = {r.pattern.host for r in plan.hosts if r.pattern.kind == "exact"}
    assert exact <= names
    exact_locations = {d["args"][1] for d in _directives(tree, "location") if d["args"][0] == "="}
    literal_paths = {
        "/" + "/".join(path_text(s.literal) for s in r.path.segments)
        for b in plan.blocks
        for r in b.routes
        if r.path.segments and all(s.literal is not None for s in r.path.segments)
    }
    assert exact_locations <= literal_paths
    servers = [d for d in _directives(tree, "server") if "block" in d]  # not upstream servers
    assert servers
    if plan.has_hosts:
        for server in servers:
            ifs = _directives(server.get("block", []), "if")
            assert any(i["args"] == ["$dc_bad_host"] for i in ifs), server["line"]


def test_adversarial_strings_stay_data():
    """`$`, quotes, `;`, braces and backslashes of the routing file come back
    from the parser as written: none of them ends a string or a directive."""
    text = (CASES_DIR / "adversarial" / "expected.nginx.conf").read_text(encoding="utf-8")
    parsed = crossplane.parse(
        str(CASES_DIR / "adversarial" / "expected.nginx.conf"),
        single=True,
        check_ctx=False,
        check_args=False,
    )
    tree = parsed["config"][0]["parsed"]
    returns = [d["args"] for d in _directives(tree, "return")]
    assert ["302", "https://example.com/q${dc_dollar}x;{y}z?a=${dc_dollar}b${dc_amp_args}#f'"] in (
        returns
    )
    # crossplane keeps nginx's "\\" escape as written: nginx reads it as "\".
    locations = [
        [a.replace("\\\\", "\\") for a in d["args"]] for d in _directives(tree, "location")
    ]
    assert ["~", r"^/back\\slash(?:/|\z)"] in locations
    assert ["~", r'^/a["]b(?:/|\z)'] in locations
    assert ["~", r"^/[$]host(?:/|\z)"] in locations
    assert 'geo $dc_dollar {\n    default "$";\n}' in text


def test_build_check_sees_a_changed_upstreams_file(tmp_path, capsys):
    """The upstreams file is an input: changing it makes the output stale."""
    from dispatchc.cli import main

    routes = tmp_path / "routes.disp"
    routes.write_bytes((ROOT / "samples" / "flask_dispatching.disp").read_bytes())
    upstreams = tmp_path / "upstreams.toml"
    upstreams.write_bytes((ROOT / "samples" / "edge" / "upstreams.toml").read_bytes())
    argv = ["build", "--target", "nginx", str(routes), "--upstreams", str(upstreams)]
    assert main(argv) == 0
    assert (tmp_path / "routes.nginx.conf").read_text().startswith("# Generated by dispatchc ")
    assert main([*argv, "--check"]) == 0
    upstreams.write_text(upstreams.read_text().replace("8002", "8004"), encoding="utf-8")
    assert main([*argv, "--check"]) == 1
    assert "stale" in capsys.readouterr().err
