"""The committed sample served by a real gunicorn, over real sockets.

``samples/flask_dispatching.py`` is served exactly as the README says
(``gunicorn --chdir samples flask_dispatching:application``) on 127.0.0.1 and
asked with ``http.client`` and various Host headers.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers import SAMPLES
from .helpers import gunicorn as serve

pytestmark = pytest.mark.slow

START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0


def gunicorn(tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    """gunicorn on the sample, as the README says; yields its port."""
    return serve(SAMPLES, "flask_dispatching:application", tmp_path, *extra)


def request(port: int, host: str, path: str, method: str = "GET") -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(method, path, headers={"Host": host, "Connection": "close"})
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, body.strip(), dict(response.getheaders())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with gunicorn(tmp_path_factory.mktemp("gunicorn-sync")) as port:
        yield port


@pytest.mark.parametrize(
    ("host", "path", "status", "body"),
    [
        ("example.com", "/", 200, "frontend: index (SCRIPT_NAME='')"),
        ("example.com:80", "/", 200, "frontend: index (SCRIPT_NAME='')"),
        ("EXAMPLE.com.", "/", 200, "frontend: index (SCRIPT_NAME='')"),
        ("www.example.com", "/about", 200, "frontend: page about"),
        (
            "example.com",
            "/backend/users",
            200,
            "backend: users (SCRIPT_NAME='/backend', PATH_INFO='/users')",
        ),
        (
            "example.com",
            "/backend/us%65rs",
            200,
            "backend: users (SCRIPT_NAME='/backend', PATH_INFO='/users')",
        ),
        ("example.com", "/backend/", 200, "backend: index, users at /backend/users"),
        ("example.com", "/backendx", 200, "frontend: page backendx"),
        (
            "alice.example.com",
            "/",
            200,
            "alice: hello Alice Liddell (SCRIPT_NAME='', PATH_INFO='/')",
        ),
        (
            "alice.example.com:8080",
            "/x/y",
            200,
            "alice: hello Alice Liddell (SCRIPT_NAME='', PATH_INFO='/x/y')",
        ),
        ("nobody.example.com", "/", 404, "404 Not Found"),
        (
            "users.example.org",
            "/bob/x",
            200,
            "bob: hello Bob Dobbs (SCRIPT_NAME='/bob', PATH_INFO='/x')",
        ),
        ("users.example.org", "/nobody", 200, "default: no such user; try one of alice, bob"),
        ("users.example.org", "/", 200, "default: no such user; try one of alice, bob"),
        ("evilexample.com", "/", 404, "404 Not Found"),
        ("example.com.evil.test", "/", 404, "404 Not Found"),
        ("unknown.test", "/backend", 404, "404 Not Found"),
        ("bad host", "/", 400, "400 Bad Request"),
        ("a..b", "/", 400, "400 Bad Request"),
        ("example.com:99999", "/", 400, "400 Bad Request"),
        ("-", "/", 404, "404 Not Found"),
    ],
)
def test_routes_over_http(sync_server, host, path, status, body):
    got_status, got_body, _ = request(sync_server, host, path)
    assert (got_status, got_body) == (status, body)


def test_mount_root_redirects_below_the_mount(sync_server):
    status, _, headers = request(sync_server, "example.com", "/backend")
    assert status == 308
    assert headers["Location"] in ("http://example.com/backend/", "/backend/")


def test_head_of_a_builtin_status_has_no_body(sync_server):
    status, body, headers = request(sync_server, "evilexample.com", "/", method="HEAD")
    assert status == 404
    assert body == ""


def test_request_without_host_header_uses_server_name(sync_server):
    # HTTP/1.0 without Host: SERVER_NAME:SERVER_PORT (127.0.0.1) is the host,
    # which no block names, so the default block answers.
    with socket.create_connection(("127.0.0.1", sync_server), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == b"404", head
    assert body.strip() == b"404 Not Found"


def test_gthread_workers_answer_concurrent_requests(tmp_path):
    expected = {
        ("alice.example.com", "/"): "alice: hello Alice Liddell (SCRIPT_NAME='', PATH_INFO='/')",
        ("alice.example.com", "/a/b"): (
            "alice: hello Alice Liddell (SCRIPT_NAME='', PATH_INFO='/a/b')"
        ),
        ("bob.example.com", "/x"): "bob: hello Bob Dobbs (SCRIPT_NAME='', PATH_INFO='/x')",
        ("users.example.org", "/bob/x"): (
            "bob: hello Bob Dobbs (SCRIPT_NAME='/bob', PATH_INFO='/x')"
        ),
        ("users.example.org", "/alice/"): (
            "alice: hello Alice Liddell (SCRIPT_NAME='/alice', PATH_INFO='/')"
        ),
        ("users.example.org", "/carol/"): "default: no such user; try one of alice, bob",
    }
    keys = list(expected)
    rounds = 12
    barrier = threading.Barrier(8, timeout=START_TIMEOUT)

    def client(index: int, port: int) -> list[tuple[tuple[str, str], int, str]]:
        barrier.wait()  # start all threads together, while the cache is cold
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        results = []
        try:
            for n in range(rounds):
                key = keys[(index + n) % len(keys)]
                conn.request("GET", key[1], headers={"Host": key[0]})
                response = conn.getresponse()
                results.append((key, response.status, response.read().decode().strip()))
        finally:
            conn.close()
        return results

    with (
        gunicorn(tmp_path, "-k", "gthread", "--threads", "4") as port,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        futures = [pool.submit(client, i, port) for i in range(8)]
        answers = [r for f in futures for r in f.result(timeout=START_TIMEOUT * 2)]
    assert len(answers) == 8 * rounds
    wrong = [
        (key, status, body)
        for key, status, body in answers
        if (status, body) != (200, expected[key])
    ]
    assert not wrong, wrong[:5]
