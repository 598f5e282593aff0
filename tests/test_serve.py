"""``dispatchc serve``: compile in memory, serve, reload on edits.

The first half drives ``LiveApplication`` in process (fast). The second runs
``python -m dispatchc serve`` as a subprocess on a free port of 127.0.0.1,
edits the routing file and the app under it, and asks with ``http.client``.
Every wait is bounded, and the server's whole process group is always
stopped.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.test import Client

from dispatchc import cli
from dispatchc.errors import UsageError
from dispatchc.tools import serve as serve_tool
from dispatchc.tools.serve import LiveApplication, banner

START_TIMEOUT = 15.0
CHANGE_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 5.0

KEEPING = "keeping the last good table"


def table(status: int, extra: str = "") -> str:
    return f"host example.com {{\n    / -> status {status}\n{extra}}}\n"


# -- in process -----------------------------------------------------------------


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.disp"
    path.write_text(table(200))
    return path


def status_of(app: LiveApplication, host: str = "example.com", path: str = "/") -> int:
    return Client(app).get(path, headers={"Host": host}).status_code


def test_edits_swap_the_table_and_broken_edits_keep_it(routes: Path) -> None:
    log = io.StringIO()
    live = LiveApplication(routes, stream=log)
    assert live.start()
    assert status_of(live) == 200
    assert not live.poll()  # unchanged

    routes.write_text(table(410, "    /new -> status 204\n"))
    assert live.poll()
    assert (status_of(live), status_of(live, path="/new")) == (410, 204)
    assert "dispatchc: reloaded" in log.getvalue()

    log.truncate(0)
    routes.write_text("host example.com {\n    / -> \n}\n")
    assert not live.poll()
    assert status_of(live) == 410
    assert "routes.disp:2:10: error[E001]" in log.getvalue()
    assert f"has errors; {KEEPING}" in log.getvalue()

    log.truncate(0)
    log.seek(0)
    assert not live.poll()  # the same broken bytes are not compiled again
    assert log.getvalue() == ""

    routes.write_text(table(451))
    assert live.poll()
    assert status_of(live) == 451
    # Nothing is written beside the routing file.
    assert sorted(p.name for p in routes.parent.iterdir()) == ["routes.disp"]


def test_a_target_that_does_not_import_keeps_the_last_good_table(routes: Path) -> None:
    log = io.StringIO()
    live = LiveApplication(routes, stream=log)
    assert live.start()
    routes.write_text("/ -> dispatchc_no_such_module_x:application\n")
    assert not live.poll()
    assert status_of(live) == 200
    assert "ModuleNotFoundError" in log.getvalue()
    assert f"could not be loaded; {KEEPING}" in log.getvalue()


def test_a_missing_file_keeps_the_last_good_table(routes: Path) -> None:
    log = io.StringIO()
    live = LiveApplication(routes, stream=log)
    assert live.start()
    routes.unlink()
    assert not live.poll()
    assert not live.poll()
    assert status_of(live) == 200
    assert log.getvalue().count("cannot read") == 1  # said once, not every poll
    routes.write_text(table(404))
    assert live.poll()
    assert status_of(live) == 404


def test_a_new_process_restores_the_last_good_table(routes: Path, tmp_path: Path) -> None:
    state = tmp_path / "state" / "last-good.py"
    state.parent.mkdir()
    assert LiveApplication(routes, state, stream=io.StringIO()).start()
    assert state.is_file()
    routes.write_text("host example.com {\n")

    log = io.StringIO()
    restarted = LiveApplication(routes, state, stream=log)
    assert not restarted.start()
    assert status_of(restarted) == 200
    assert f"has errors; {KEEPING}" in log.getvalue()


def test_with_no_table_at_all_requests_get_500(routes: Path) -> None:
    routes.write_text("/ -> dispatchc_no_such_module_x:application\n")
    log = io.StringIO()
    live = LiveApplication(routes, stream=log)
    assert not live.start()
    response = Client(live).get("/")
    assert response.status_code == 500
    assert "ModuleNotFoundError" not in response.text  # details stay in the terminal
    assert "no table to serve yet" in log.getvalue()
    routes.write_text(table(200))
    assert live.poll()
    assert status_of(live) == 200


@pytest.mark.parametrize(
    ("host", "debug", "url", "warnings"),
    [
        ("127.0.0.1", False, "http://127.0.0.1:5000", 0),
        ("localhost", True, "http://localhost:5000", 0),
        ("::1", False, "http://[::1]:5000", 0),
        ("0.0.0.0", False, "http://0.0.0.0:5000", 1),
        ("192.0.2.7", True, "http://192.0.2.7:5000", 2),
    ],
)
def test_banner(host: str, debug: bool, url: str, warnings: int) -> None:
    lines = banner(Path("routes.disp"), host, 5000, debug)
    assert lines[0] == f"Serving routes.disp on {url} (Ctrl+C to stop)"
    assert len(lines) == 1 + warnings
    assert all("not for production" in line or "--debug" in line for line in lines[1:])


def test_usage_errors_are_raised_before_anything_is_served(routes: Path, monkeypatch, capsys):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(serve_tool, "run_simple", refuse)
    with pytest.raises(UsageError, match="^port 70000 is not in 0-65535$"):
        serve_tool.run(routes, port=70000)
    with pytest.raises(UsageError, match="^cannot read .*nope.disp: No such file or directory$"):
        serve_tool.run(routes.with_name("nope.disp"))
    assert cli.main(["serve", str(routes), "--port", "70000"]) == 2
    assert capsys.readouterr() == ("", "dispatchc: error: port 70000 is not in 0-65535\n")


# -- a real server ------------------------------------------------------------------

ROUTES = """\
host example.com {
    /     -> app:application
    /gone -> status 410
}

default {
    / -> status 404
}
"""

APP = """\
def application(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    body = f"app v1 {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], what: str, timeout: float = CHANGE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, host: str = "example.com") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", path, headers={"Host": host, "Connection": "close"})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def status(self, path: str, host: str = "example.com") -> int:
        return self.get(path, host)[0]

    def answers(self) -> bool:
        if self.proc.poll() is not None:
            raise _Exited(self.output())
        try:
            self.get("/")
        except (OSError, http.client.HTTPException):
            return False
        return True

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False


class _Exited(Exception):
    pass


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WERKZEUG_", "DISPATCHC_"))}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (werkzeug's parent and child)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            time.sleep(0.2)  # give an orphaned child time to go too, then make sure
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def serve(directory: Path, *extra: str) -> Iterator[Server]:
    """Run ``dispatchc serve routes.disp`` in ``directory`` until it answers."""
    last = ""
    for attempt in range(3):  # the free port may be taken before it is bound
        port = free_port()
        log = directory / f"serve-{attempt}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dispatchc", "serve", "routes.disp", "--port", str(port)]
                + list(extra),
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=_env(),
                start_new_session=True,
            )
        server = Server(proc, port, log)
        try:
            try:
                wait_for(server.answers, "the server to answer", START_TIMEOUT)
            except _Exited as exc:
                last = str(exc)
                if "in use" in last:
                    continue
                raise AssertionError(f"serve exited with {proc.returncode}:\n{last}") from None
            except AssertionError as exc:
                raise AssertionError(f"{exc}:\n{server.output()}") from None
            yield server
            return
        finally:
            _stop(proc)
    raise AssertionError(f"could not start the server:\n{last}")


def run_cli(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dispatchc", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=START_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "routes.disp").write_text(ROUTES)
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


@pytest.mark.slow
def test_serve_reloads_edits_and_keeps_the_last_good_table(project: Path) -> None:
    routes = project / "routes.disp"
    with serve(project) as server:
        assert (
            f"Serving routes.disp on http://127.0.0.1:{server.port} (Ctrl+C to stop)"
            in server.output()
        )
        assert "not for production" not in server.output()
        if sys.platform.startswith("linux"):
            # Bound to 127.0.0.1 only: another loopback address is refused
            # (it would be accepted by a socket bound to 0.0.0.0).
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.2", server.port), timeout=1).close()

        assert server.get("/x") == (200, "app v1 /x")
        assert server.status("/gone") == 410
        assert server.status("/", host="other.test") == 404
        boom = server.get("/boom")
        assert boom[0] == 500 and "RuntimeError" not in boom[1]  # no debugger

        # An edit: a status changes and a route appears.
        routes.write_text(
            ROUTES.replace("/gone -> status 410", "/gone -> status 418\n    /added -> status 204")
        )
        wait_for(lambda: server.status("/gone") == 418, "the edit to be served")
        assert server.status("/added") == 204
        assert "dispatchc: reloaded routes.disp" in server.output()

        # A broken edit: the diagnostic is printed, the old table answers.
        routes.write_text(ROUTES.replace("/gone -> status 410", "/gone -> status"))
        wait_for(lambda: KEEPING in server.output(), "the diagnostic")
        assert "routes.disp:3:20: error[E" in server.output()
        assert server.status("/gone") == 418
        assert server.status("/added") == 204
        assert server.get("/") == (200, "app v1 /")

        # Fixed again: it recovers.
        routes.write_text(ROUTES.replace("status 410", "status 451"))
        wait_for(lambda: server.status("/gone") == 451, "the fix to be served")
        assert server.get("/added") == (200, "app v1 /added")

        # Nothing was written beside the routing file.
        assert not (project / "routes.py").exists()

        # Ctrl+C (SIGINT to the terminal's process group) stops it with 0.
        os.killpg(server.proc.pid, signal.SIGINT)
        assert server.proc.wait(timeout=STOP_TIMEOUT) == 0
        wait_for(lambda: not server.listening(), "the port to close", STOP_TIMEOUT)


@pytest.mark.slow
def test_python_edit_restarts_and_a_broken_table_survives_it(project: Path) -> None:
    routes = project / "routes.disp"
    with serve(project, "--debug") as server:
        boom = server.get("/boom")
        assert boom[0] == 500 and "RuntimeError: boom" in boom[1]  # werkzeug's debugger

        routes.write_text("host example.com {\n")
        wait_for(lambda: KEEPING in server.output(), "the diagnostic")

        # werkzeug's reloader restarts the serving process for the .py edit;
        # the routing file is still broken, and the new process serves the
        # last good table with the new app.
        (project / "app.py").write_text(APP.replace("app v1", "app v2"))
        wait_for(lambda: server.get("/")[1] == "app v2 /", "the app edit", START_TIMEOUT)
        assert server.status("/gone") == 410
        assert server.output().count(KEEPING) >= 2

        # SIGTERM to the parent alone: werkzeug's parent stops its child.
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=STOP_TIMEOUT) == 0
        wait_for(lambda: not server.listening(), "the child to stop", STOP_TIMEOUT)


@pytest.mark.slow
def test_a_broken_file_at_start_exits_1(project: Path) -> None:
    (project / "routes.disp").write_text("host example.com {\n    / -> \n}\n")
    result = run_cli(project, "serve", "routes.disp", "--port", str(free_port()))
    assert result.returncode == 1
    assert "routes.disp:2:10: error[E001]" in result.stderr
    assert "dispatchc: not serving: routes.disp has errors" in result.stderr
    assert "Serving" not in result.stderr


@pytest.mark.slow
def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve", "nope.disp", "--port", str(free_port()))
    assert result.returncode == 2
    assert "dispatchc: error: cannot read nope.disp: No such file or directory" in result.stderr
