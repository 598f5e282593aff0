"""A table of literal mounts dispatches exactly like DispatcherMiddleware (SPEC §3).

"For a table of literal mounts this is exactly what
``werkzeug.middleware.dispatcher.DispatcherMiddleware`` does, and the two must
agree on every request (same app, same SCRIPT_NAME, same PATH_INFO)."

Random mount tables (1-3 literal segments from a small alphabet, so mounts
nest) plus a default app at ``/`` are compiled as a routing file without a
host block and given to DispatcherMiddleware; random requests (PATH_INFO
``""`` or starting with ``/``) must reach the same app with the same
SCRIPT_NAME and PATH_INFO.
"""

from __future__ import annotations

import copy
import functools
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import note as _note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from .conftest import build_module, compile_text, load_module
from .strategies import Calls, fake_targets

MODULE = "dispatchc_fake_mounts"
SEGMENTS = ("a", "b", "api", "v1", "é")
# A server puts UTF-8 bytes decoded as latin-1 in PATH_INFO (PEP 3333).
WIRE = {s: s.encode("utf-8").decode("latin-1") for s in SEGMENTS}
MOUNT_APPS = tuple(f"mount_{i}" for i in range(8))


def note(text: str) -> None:
    if currently_in_test_context():
        _note(text)


def wire(mount: tuple[str, ...]) -> str:
    """The mount as DispatcherMiddleware sees it: the PATH_INFO prefix."""
    return "".join("/" + WIRE[s] for s in mount)


def routing_file(mounts: list[tuple[str, ...]], style: dict[str, Any]) -> str:
    """The same table in the routing language, in one of several equivalent spellings."""
    uses = []
    routes = []
    for i, mount in enumerate(mounts):
        target = f"{MODULE}:{MOUNT_APPS[i]}"
        if style["use"] and i % 2:
            uses.append(f"use m{i} = {target}" + (" lazy" if style["lazy"] else ""))
            target = f"m{i}"
        elif style["lazy"] and i % 3 == 0:
            target += " lazy"
        routes.append("/" + "/".join(mount) + f" -> {target}")
    routes.append(f"/ -> {MODULE}:default")
    if style["reverse"]:
        routes.reverse()
    if style["default_block"]:
        body = "".join(f"    {line}\n" for line in routes)
        routes = [f"default {{\n{body}}}"]
    return "# mounts\n" + "\n".join(uses + routes) + "\n"


def middleware(calls_module: Any, mounts: list[tuple[str, ...]]) -> DispatcherMiddleware:
    return DispatcherMiddleware(
        calls_module.default,
        {wire(mount): getattr(calls_module, MOUNT_APPS[i]) for i, mount in enumerate(mounts)},
    )


def run(app, environ: dict[str, Any], calls: Calls) -> dict[str, Any]:
    """Call ``app``; what the app that got the request saw."""
    calls.clear()
    statuses = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["200 OK"]
    assert len(calls.apps) == 1
    seen = calls.apps[0]
    assert body == seen["label"].encode()
    return seen


def compare(module: Any, werkzeug_app: DispatcherMiddleware, environ: dict[str, Any], calls: Calls):
    note(f"environ: {environ!r}")
    ours = run(module.application, copy.deepcopy(environ), calls)
    theirs = run(werkzeug_app, copy.deepcopy(environ), calls)
    note(f"dispatchc: {ours!r}")
    note(f"werkzeug:  {theirs!r}")
    assert ours["label"] == theirs["label"]
    # DispatcherMiddleware always sets SCRIPT_NAME; dispatchc leaves it alone for "/".
    assert ours.get("SCRIPT_NAME", "") == theirs["SCRIPT_NAME"]
    assert ours.get("PATH_INFO", "") == theirs["PATH_INFO"]
    return ours


# -- strategies -----------------------------------------------------------------

mount_paths = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).map(tuple)
mount_tables = st.lists(mount_paths, min_size=1, max_size=len(MOUNT_APPS), unique=True)
styles = st.fixed_dictionaries(
    {k: st.booleans() for k in ("use", "lazy", "reverse", "default_block")}
)

TAILS = ("", "", "/", "//", "x", "/x", "/x/", "//x", "/a/b/c/d/e", "/é", "/" + WIRE["é"], "/..")
NOISE = ("a", "b", "api", "v1", WIRE["é"], "é", "x", "", "A", "..", "%2F")


@st.composite
def path_infos(draw, mounts: list[tuple[str, ...]]) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.sampled_from(("", "/", "//", "///", "/x", "/x/")))
    if kind == 1:
        segments = draw(st.lists(st.sampled_from(NOISE), min_size=1, max_size=6))
        return "/" + "/".join(segments) + draw(st.sampled_from(("", "/")))
    mount = draw(st.sampled_from(mounts))
    if draw(st.integers(0, 3)) == 0:
        mount = mount[: draw(st.integers(1, len(mount)))]  # a prefix of a mount
    path = wire(mount)
    for _ in range(draw(st.integers(0, 2))):
        path += draw(st.sampled_from(TAILS))
    return path


@st.composite
def environs(draw, mounts: list[tuple[str, ...]]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": draw(st.sampled_from(("example.com", "bad host", ""))),
        "wsgi.url_scheme": "http",
        "PATH_INFO": draw(path_infos(mounts)),
    }
    script = draw(st.sampled_from(("", "", "/pre", "/pre/", None)))
    if script is not None:
        environ["SCRIPT_NAME"] = script
    return environ


# -- the property -------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def compiled(text: str) -> str:
    return compile_text(text)


@settings(
    max_examples=150,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), mounts=mount_tables, style=styles)
def test_mounts_dispatch_like_dispatcher_middleware(data, mounts, style):
    text = routing_file(mounts, style)
    note(text)
    with fake_targets(name=MODULE, extra_apps=MOUNT_APPS) as calls:
        module = load_module(compiled(text))
        werkzeug_app = middleware(sys.modules[MODULE], mounts)
        for environ in data.draw(st.lists(environs(mounts), min_size=4, max_size=15)):
            compare(module, werkzeug_app, environ, calls)


# -- explicit examples --------------------------------------------------------------

FIXED = [("a",), ("a", "b"), ("api", "v1"), ("é",), ("b", "a", "b")]


@pytest.mark.parametrize(
    ("path", "label", "script", "rest"),
    [
        ("", "default", "", ""),
        ("/", "default", "", "/"),
        ("//", "default", "", "//"),
        ("/a", "mount_0", "/a", ""),
        ("/a/", "mount_0", "/a", "/"),
        ("/ax", "default", "", "/ax"),
        ("/a//x", "mount_0", "/a", "//x"),
        ("/a//b", "mount_0", "/a", "//b"),
        ("/a/b", "mount_1", "/a/b", ""),
        ("/a/b/", "mount_1", "/a/b", "/"),
        ("/a/bc", "mount_0", "/a", "/bc"),
        ("/api", "default", "", "/api"),
        ("/api/v1/x/y", "mount_2", "/api/v1", "/x/y"),
        ("/api/v2", "default", "", "/api/v2"),
        ("/" + WIRE["é"] + "/x", "mount_3", "/" + WIRE["é"], "/x"),
        ("/é/x", "default", "", "/é/x"),
        ("/b/a", "default", "", "/b/a"),
        ("/b/a/b/c", "mount_4", "/b/a/b", "/c"),
        ("/A", "default", "", "/A"),
    ],
)
@pytest.mark.parametrize("script_name", ["", "/pre"])
def test_fixed_mounts(path, label, script, rest, script_name):
    text = routing_file(
        FIXED, {"use": False, "lazy": False, "reverse": False, "default_block": False}
    )
    with fake_targets(name=MODULE, extra_apps=MOUNT_APPS) as calls:
        module = build_module(text)
        werkzeug_app = middleware(sys.modules[MODULE], FIXED)
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": script_name}
        seen = compare(module, werkzeug_app, environ, calls)
    assert seen["label"] == label
    assert seen["SCRIPT_NAME"] == script_name + script
    assert seen["PATH_INFO"] == rest
