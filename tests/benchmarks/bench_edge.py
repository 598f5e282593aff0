"""requests/s of nginx with the generated edge against nginx with a minimal
hand-written configuration for the same table, in front of the same
gunicorn backends (docs/deploy.md, "Performance").

    .venv/bin/python -m tests.benchmarks.bench_edge [--seconds 10] [--rounds 3]

Needs ``wrk`` (Debian: apt-get install wrk). The table: 20 exact hosts,
each with 5 literal mounts on two upstreams. Each round runs wrk against
both configurations in turn (2 threads, 32 connections, one path per
host and mount), and the ratio of the medians is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from dispatchc.cli import main as dispatchc

from ..targets.nginx.live import free_port, running_gunicorn, running_nginx

HOSTS = 20
MOUNTS = 5
APP = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
"""


def table(directory: Path, ports: dict[str, int], edge: int) -> None:
    lines = ["use a = benchapp:application", "use b = benchapp2:application", ""]
    for h in range(HOSTS):
        lines.append(f"host h{h}.example.com {{")
        lines.append("    / -> a")
        lines += [f"    /m{m} -> {'b' if m % 2 else 'a'}" for m in range(MOUNTS)]
        lines.append("}")
    (directory / "routes.disp").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "upstreams.toml").write_text(
        f'[edge]\nlisten = ["127.0.0.1:{edge}"]\n'
        f'[upstream.a]\nservers = ["127.0.0.1:{ports["a"]}"]\napps = ["a"]\n'
        f'[upstream.b]\nservers = ["127.0.0.1:{ports["b"]}"]\napps = ["b"]\n',
        encoding="utf-8",
    )
    for name in ("benchapp", "benchapp2"):
        (directory / f"{name}.py").write_text(APP, encoding="utf-8")


def hand_written(ports: dict[str, int], edge: int) -> str:
    """What one would write by hand for the same table (exact hosts, mounts)."""
    out = [
        f"upstream a {{ server 127.0.0.1:{ports['a']}; }}",
        f"upstream b {{ server 127.0.0.1:{ports['b']}; }}",
    ]
    for h in range(HOSTS):
        out.append(f"server {{ listen 127.0.0.1:{edge}; server_name h{h}.example.com;")
        out.append("  proxy_set_header Host $http_host;")
        out.append("  location / { proxy_pass http://a; }")
        for m in range(MOUNTS):
            up = "b" if m % 2 else "a"
            out.append(f"  location = /m{m} {{ proxy_pass http://{up}; }}")
            out.append(f"  location /m{m}/ {{ proxy_pass http://{up}; }}")
        out.append("}")
    return "\n".join(out) + "\n"


LUA = """\
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  local p = paths[(i %% #paths) + 1]
  return wrk.format("GET", p[2], {["Host"] = p[1]})
end
"""


def wrk(port: int, seconds: int, script: Path) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    assert found, out
    return float(found.group(1))


def run(seconds: int, rounds: int) -> tuple[float, float]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    directory = Path(tempfile.mkdtemp(prefix="dispatchc-bench-edge-"))
    ports = {"a": free_port(), "b": free_port()}
    edge = free_port()
    table(directory, ports, edge)
    routes, upstreams = str(directory / "routes.disp"), str(directory / "upstreams.toml")
    assert dispatchc(["build", "--target", "nginx", routes, "--upstreams", upstreams]) == 0
    for name in ("a", "b"):
        assert dispatchc(["build", routes, "--upstreams", upstreams, "--upstream", name]) == 0
    (directory / "hand.conf").write_text(hand_written(ports, edge), encoding="utf-8")
    paths = ", ".join(
        f'{{"h{h}.example.com", "{p}"}}'
        for h in range(HOSTS)
        for p in ["/", "/x/y", *(f"/m{m}/z" for m in range(MOUNTS))]
    )
    script = directory / "paths.lua"
    script.write_text(LUA % paths, encoding="utf-8")
    results: dict[str, list[float]] = {"generated": [], "hand": []}
    with contextlib.ExitStack() as stack:
        for name in ("a", "b"):
            stack.enter_context(
                running_gunicorn(directory, f"routes_{name}", ports[name], workers=2)
            )
        for _ in range(rounds):
            for kind, conf in (("generated", "routes.nginx.conf"), ("hand", "hand.conf")):
                with running_nginx(directory / f"nginx-{kind}", directory / conf, edge):
                    results[kind].append(wrk(edge, seconds, script))
    generated, hand = statistics.median(results["generated"]), statistics.median(results["hand"])
    print(f"generated: {generated:.0f} req/s  (rounds: {results['generated']})")
    print(f"hand-written: {hand:.0f} req/s  (rounds: {results['hand']})")
    print(f"ratio: {generated / hand:.3f}")
    return generated, hand


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.seconds, args.rounds)
