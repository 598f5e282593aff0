"""SPEC §9, last rule: the ASGI build and the WSGI build of the same file
route every request the same way.

Random valid files (tests/strategies.py) are compiled for both targets;
random requests (WSGI environs from the same strategies) are turned into
the scope an ASGI server would build for the same HTTP request (SCRIPT_NAME
as ``root_path``, with ``path`` holding it or not: both servers' ways),
and both modules must give the same status, Location and body, call the
same application or factory with the same arguments, with ``root_path`` /
``path`` carrying the split that SCRIPT_NAME / PATH_INFO carry, and
``path_params`` equal to the ``wsgiorg.routing_args`` captures (text in
ASGI, its UTF-8 bytes as latin-1 in WSGI). A second property marks every
target ``wsgi`` and compares the environs themselves, through a2wsgi.
"""

from __future__ import annotations

import asyncio
import functools
import pathlib
import re
import sys
import types
import zlib
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from dispatchc.compiler import compile_source

from ...conftest import load_module
from ...strategies import APP_ATTRS, FACTORY_ATTRS, FAKE_MODULE, factory_label, requests, tables
from ...strategies import fake_targets as wsgi_fake_targets
from .conftest import MISSING, as_path_info, call_async

ASGI_MODULE = "dispatchc_fake_asgi_targets"


def make_decide(mode: str, salt: int):
    """Whether a factory returns an app: the same on both sides, where path
    captures are text on one and PATH_INFO text on the other."""

    def decide(attr: str, args: tuple[Any, ...]) -> bool:
        if mode in ("all", "none"):
            return mode == "all"
        return zlib.crc32(repr((salt, attr, args)).encode("utf-8")) % 2 == 0

    return decide


# -- the ASGI twin of the fake target module ------------------------------------


class AsgiRecordingApp:
    """Records what it is given in the WSGI target's terms."""

    def __init__(self, label: str, seen: list):
        self.label = label
        self.seen = seen

    async def __call__(self, scope, receive, send):
        root = scope.get("root_path", "")
        record: dict[str, Any] = {"label": self.label}
        record["SCRIPT_NAME"] = as_path_info(root)
        assert scope["path"].startswith(root)  # the app always gets a conforming scope
        record["PATH_INFO"] = as_path_info(scope["path"][len(root) :])
        if "dispatchc.route" in scope:
            record["dispatchc.route"] = scope["dispatchc.route"]
        params = scope.get("path_params", MISSING)
        if isinstance(params, Mapping):
            params = {k: as_path_info(v) for k, v in params.items()}
        record["params"] = params
        self.seen.append(record)
        headers = [(b"content-type", b"text/plain"), (b"x-app", self.label.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.label.encode("utf-8")})


def asgi_fake(decide, seen: list, factories: list) -> types.ModuleType:
    module = types.ModuleType(ASGI_MODULE)
    for attr in APP_ATTRS:
        if "." not in attr:
            setattr(module, attr, AsgiRecordingApp(attr, seen))
    module.ns = types.SimpleNamespace(app=AsgiRecordingApp("ns.app", seen))

    def make(attr: str, is_async: bool):
        def made(args):
            args = tuple(as_path_info(a) if isinstance(a, str) else a for a in args)
            factories.append((attr, args))
            return AsgiRecordingApp(factory_label(attr, args), seen) if decide(attr, args) else None

        if is_async:

            async def factory(*args):
                return made(args)
        else:

            def factory(*args):
                return made(args)

        return factory

    for i, attr in enumerate(FACTORY_ATTRS):
        setattr(module, attr, make(attr, is_async=i % 2 == 1))
    return module


# -- one request, both ways --------------------------------------------------------


def scope_of(
    environ: dict[str, Any], variant: str, root: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ASGI scope for the HTTP request behind ``environ``, and the
    environ the WSGI target gets for it (PATH_INFO as a server derives it
    from the decoded path). ``root`` replaces a non-empty SCRIPT_NAME.

    ``variant``: "holds" (``path`` holds ``root_path``, as uvicorn and the
    ASGI spec do), "slash" (the same with a trailing "/" on ``root_path``),
    "bare" (``path`` without ``root_path``, as hypercorn gives it); a bare
    path that does continue ``root_path`` on a segment boundary is read as
    holding it (SPEC §9), and so is the WSGI request it stands for."""
    raw_path = environ.get("PATH_INFO", "").encode("latin-1")
    # PATH_INFO is "" or starts with "/" (PEP 3333 servers; SPEC §3 leaves
    # other values unspecified): only such requests have an ASGI twin.
    assume(raw_path[:1] in (b"", b"/"))
    path = raw_path.decode("utf-8", "replace")  # as uvicorn and hypercorn decode it
    environ = dict(environ)
    environ["PATH_INFO"] = as_path_info(path)
    if root is None or not environ.get("SCRIPT_NAME"):
        root = environ.get("SCRIPT_NAME")  # "/pre", "" or None (absent)
    else:
        environ["SCRIPT_NAME"] = as_path_info(root)
    if variant == "bare" and root and (path == root or path.startswith(root + "/")):
        environ["PATH_INFO"] = as_path_info(path[len(root) :])
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ["wsgi.url_scheme"],
        "path": path,
        "raw_path": raw_path,
        "query_string": environ["QUERY_STRING"].encode("latin-1"),
        "headers": [],
        "server": (environ["SERVER_NAME"], int(environ["SERVER_PORT"] or 0)),
    }
    if "HTTP_HOST" in environ:
        scope["headers"].append((b"host", environ["HTTP_HOST"].encode("latin-1")))
    scope["headers"].append((b"accept", b"*/*"))
    if root is not None:
        scope["root_path"] = root + ("/" if variant == "slash" and root else "")
        if variant != "bare" or not root:
            scope["path"] = root + path
    routing = environ.get("wsgiorg.routing_args", MISSING)
    if routing is not MISSING:
        valid = isinstance(routing, tuple) and len(routing) == 2 and isinstance(routing[1], dict)
        scope["path_params"] = dict(routing[1]) if valid else routing
    return scope, environ


def wsgi_call(app, environ):
    seen: dict[str, Any] = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status[:3]), dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"].get("Location"), body


def routing_kwargs(value: Any) -> Any:
    """The captures part of a routing_args value (or the value, when it is
    not an ``(args, kwargs)`` pair, which dispatch leaves alone)."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):
        return dict(value[1])
    return value


SOURCE, OUTPUT = pathlib.Path("routes.disp"), pathlib.Path("routes.py")
#: Mount points: one the paths never start with, and some they often do.
ROOTS = ("/pre", "/a", "/a/b", "/é")


def captures(environ: dict[str, Any]) -> dict[str, Any]:
    kwargs = routing_kwargs(environ.get("wsgiorg.routing_args"))
    return kwargs if isinstance(kwargs, dict) else {}


@st.composite
def roots(draw, path_info: str) -> str:
    """A mount point: one of ROOTS, or the start of the request's path cut
    anywhere (on a segment boundary or not)."""
    path = path_info.encode("latin-1").decode("utf-8", "replace")
    root = path[: draw(st.integers(0, len(path)))].rstrip("/")
    if len(root) < 2 or draw(st.booleans()):
        return draw(st.sampled_from(ROOTS))
    return root


@functools.lru_cache(maxsize=256)
def builds(text: str) -> tuple[str, str]:
    wsgi = compile_source(SOURCE, text.encode(), OUTPUT)
    asgi_text = text.replace(FAKE_MODULE + ":", ASGI_MODULE + ":")
    return wsgi, compile_source(SOURCE, asgi_text.encode(), OUTPUT, target="asgi")


def source(spec) -> str:
    # A non-ASCII string argument is the same text on both sides, unlike a
    # captured one: keep arguments ASCII so that one conversion fits all.
    return spec.source().replace('"é"', '"e2"')


SETTINGS = settings(
    max_examples=120,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(
    data=st.data(),
    spec=tables(),
    mode=st.sampled_from(("all", "none", "mixed", "mixed")),
    salt=st.integers(0, 3),
)
def test_asgi_and_wsgi_builds_agree(data, spec, mode, salt):
    text = source(spec)
    note(text)
    wsgi_code, asgi_code = builds(text)
    decide = make_decide(mode, salt)
    asgi_seen: list = []
    asgi_factories: list = []
    previous = sys.modules.get(ASGI_MODULE)
    sys.modules[ASGI_MODULE] = asgi_fake(decide, asgi_seen, asgi_factories)
    try:
        with wsgi_fake_targets(decide) as calls:
            wsgi_app = load_module(wsgi_code).application
            asgi_app = load_module(asgi_code).application
            for environ in data.draw(st.lists(requests(spec), min_size=4, max_size=10)):
                variant = data.draw(st.sampled_from(("holds", "bare", "slash")))
                root = data.draw(roots(environ.get("PATH_INFO", "")))
                assume("HTTP_HOST" in environ and environ["HTTP_HOST"] or environ["SERVER_PORT"])
                scope, environ = scope_of(environ, variant, root)
                note(f"scope: {scope}")
                calls.clear()
                asgi_seen.clear()
                asgi_factories.clear()
                before = environ.get("wsgiorg.routing_args", MISSING)
                status, location, body = wsgi_call(wsgi_app, environ)
                response = asyncio.run(call_async(asgi_app, scope))
                assert (response.status, response.location, response.body) == (
                    status,
                    location,
                    body,
                )
                assert asgi_factories == calls.factories
                assert len(asgi_seen) == len(calls.apps)
                if not calls.apps:
                    continue
                wsgi_seen, asgi = calls.apps[0], asgi_seen[0]
                assert asgi["label"] == wsgi_seen["label"]
                assert asgi.get("dispatchc.route") == wsgi_seen.get("dispatchc.route")
                assert asgi["SCRIPT_NAME"] == wsgi_seen.get("SCRIPT_NAME", "")
                assert asgi["PATH_INFO"] == wsgi_seen.get("PATH_INFO", "")
                routing = wsgi_seen.get("wsgiorg.routing_args", MISSING)
                if routing is before:
                    # Unchanged (a route without captures): path_params too.
                    assert asgi["params"] == scope.get("path_params", MISSING)
                else:
                    assert asgi["params"] == routing_kwargs(routing)
    finally:
        if previous is None:
            sys.modules.pop(ASGI_MODULE, None)
        else:
            sys.modules[ASGI_MODULE] = previous


_TARGET = re.compile(re.escape(FAKE_MODULE) + r":[^\n#]*?(?=\s*(#|$))", re.M)


@settings(
    max_examples=40,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), spec=tables(), salt=st.integers(0, 3))
def test_wsgi_marked_targets_get_the_wsgi_targets_environ(data, spec, salt):
    """Every application and factory marked ``wsgi``: through a2wsgi, the
    WSGI applications see what the WSGI build gives them."""
    text = _TARGET.sub(lambda m: m.group(0) + " wsgi", source(spec))
    note(text)
    wsgi_code = builds(text)[0]
    asgi_code = compile_source(SOURCE, text.encode(), OUTPUT, target="asgi")
    decide = make_decide("mixed", salt)
    with wsgi_fake_targets(decide) as calls:
        wsgi_app = load_module(wsgi_code).application
        asgi_app = load_module(asgi_code).application
        for environ in data.draw(st.lists(requests(spec), min_size=2, max_size=6)):
            assume("HTTP_HOST" in environ and environ["HTTP_HOST"] or environ["SERVER_PORT"])
            scope, environ = scope_of(environ, data.draw(st.sampled_from(("holds", "bare"))))
            # The same factories serve both builds here, and a factory is given
            # captures as the target decodes them (ASGI text): ASCII paths only
            # (the first property and test_wsgi_targets cover the others).
            assume(scope["path"].isascii())
            note(f"scope: {scope}")
            calls.clear()
            expected = wsgi_call(wsgi_app, environ)
            wsgi_seen = list(calls.apps)
            wsgi_made = list(calls.factories)
            calls.clear()
            response = asyncio.run(call_async(asgi_app, scope))
            assert (response.status, response.location, response.body) == expected
            assert calls.factories == wsgi_made
            assert len(calls.apps) == len(wsgi_seen)
            for got, want in zip(calls.apps, wsgi_seen, strict=True):
                assert got["label"] == want["label"]
                for key in ("SCRIPT_NAME", "PATH_INFO", "dispatchc.route"):
                    assert got.get(key, "") == want.get(key, ""), key
                # path_params carries the captures, not routing_args' positional
                # part nor a value that is not (args, kwargs).
                assert captures(got) == captures(want)
