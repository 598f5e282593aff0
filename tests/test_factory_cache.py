"""Factories and their per-route instance cache (SPEC §4), under threads.

Ordering properties are proved with Events and Barriers, never with timings:
e.g. a request for key B completes while the factory for key A is still
blocked on an Event that only the test sets. Joins carry a generous timeout
that only detects a deadlock (the test fails instead of hanging); it is not a
speed bound.

Targets are plain ``types.ModuleType`` objects registered in ``sys.modules``
under a unique name (or, for ``lazy``, real files on a temporary sys.path) and
removed afterwards. Requests go through ``application(environ,
start_response)``; the cache object itself is never inspected.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from .helpers import build_module, call, compile_text, load_module, started

#: Deadlock detector for joins and waits, in seconds (not a speed assertion).
JOIN = 15

_ids = itertools.count()


# -- helpers -----------------------------------------------------------------


class App:
    """A WSGI app that says which factory call made it (and can be weakref'd)."""

    def __init__(self, label: str):
        self.label = label

    def __call__(self, environ, start_response):
        environ["test.app"] = self.label
        body = self.label.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [body]


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes, environ: dict):
        self.status = status
        self.status_code = int(status[:3])
        self.headers = dict(headers)
        self.body = body.decode("latin-1")
        self.environ = environ


def request(application: Callable, path: str = "/", host: str | None = None) -> Response:
    """One request through ``application(environ, start_response)``."""
    headers = {"Host": host} if host else {}
    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    answer = call(application, environ)
    return Response(answer.status_line, answer.headers, answer.body, environ)


class Calls:
    """A thread-safe record of factory calls.

    ``add`` returns the call's number, counted from 1 since creation (``clear``
    empties ``items`` but does not restart the numbering).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self.items: list[Any] = []

    def add(self, item: Any) -> int:
        with self._lock:
            self.items.append(item)
            self._total += 1
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return len(self.items)

    def clear(self) -> None:
        with self._lock:
            self.items.clear()


@pytest.fixture
def target() -> Iterator[Callable[..., str]]:
    """``target(**attrs)`` registers a module holding attrs; returns its name."""
    names: list[str] = []

    def make(**attrs: Any) -> str:
        name = f"_dc_cache_target_{next(_ids)}"
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
        names.append(name)
        return name

    yield make
    for name in names:
        sys.modules.pop(name, None)


def counting_factory(calls: Calls) -> Callable[..., App]:
    """A factory that records its arguments and labels each app by call number."""

    def make(*args: Any) -> App:
        n = calls.add(args if len(args) != 1 else args[0])
        return App(f"{'/'.join(map(str, args))}#{n}")

    return make


# -- 1. racing cold key -------------------------------------------------------


def test_racing_cold_key_calls_the_factory_once(target):
    threads = 24
    calls = Calls()
    entered, release = threading.Event(), threading.Event()

    def make(key):
        n = calls.add(key)
        entered.set()
        assert release.wait(JOIN)
        return App(f"{key}#{n}")

    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k)\n").application
    barrier = threading.Barrier(threads)
    arrived = Calls()

    def one():
        barrier.wait(JOIN)
        arrived.add(1)
        return request(app, "/cold/x")

    workers = [started(one) for _ in range(threads)]
    assert entered.wait(JOIN)
    # Every thread is past the barrier and inside application() (or about to
    # be). The short pause only widens the race; the assertions below hold
    # whatever the interleaving.
    deadline = time.monotonic() + JOIN
    while len(arrived) < threads and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)
    # While the first call is still blocked, nobody else called the factory.
    assert calls.items == ["cold"]
    release.set()
    results = [w.finish() for w in workers]
    assert calls.items == ["cold"]
    assert {r.status_code for r in results} == {200}
    assert {r.body for r in results} == {"cold#1"}  # all got the same app
    # And it stays cached.
    assert request(app, "/cold").body == "cold#1"
    assert calls.items == ["cold"]


# -- 2. a slow factory blocks neither other keys nor hits ---------------------


def test_slow_factory_blocks_neither_other_keys_nor_hits(target):
    calls = Calls()
    a_entered, a_release = threading.Event(), threading.Event()

    def make(key):
        n = calls.add(key)
        if key == "a":
            a_entered.set()
            assert a_release.wait(JOIN)
        return App(f"{key}#{n}")

    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k)\n").application
    assert request(app, "/c").body == "c#1"  # C is cached

    slow = started(request, app, "/a")
    try:
        assert a_entered.wait(JOIN)
        # A cold key B, from another thread, completes while A is blocked.
        b = started(request, app, "/b").finish()
        assert b.status_code == 200 and b.body == "b#3"
        # A hit for C completes while A is blocked, without calling the factory.
        for _ in range(3):
            c = started(request, app, "/c").finish()
            assert c.status_code == 200 and c.body == "c#1"
        # ... and so does a hit on B, now cached, from this very thread.
        assert request(app, "/b").body == "b#3"
        assert slow.is_alive() and not a_release.is_set()
        assert calls.items == ["c", "a", "b"]
    finally:
        a_release.set()
    assert slow.finish().body == "a#2"
    assert request(app, "/a").body == "a#2"
    assert calls.items == ["c", "a", "b"]


def test_slow_factory_does_not_block_another_route_with_the_same_factory(target):
    calls = Calls()
    entered, release = threading.Event(), threading.Event()

    def make(key):
        n = calls.add(key)
        if n == 1:
            entered.set()
            assert release.wait(JOIN)
        return App(f"{key}#{n}")

    mod = target(make=make)
    app = build_module(
        f"""
        /one/{{k}} -> {mod}:make(k)
        /two/{{k}} -> {mod}:make(k)
        """
    ).application
    slow = started(request, app, "/one/same")
    try:
        assert entered.wait(JOIN)
        other = started(request, app, "/two/same").finish()
        assert other.body == "same#2"
        assert slow.is_alive()
    finally:
        release.set()
    assert slow.finish().body == "same#1"


# -- 3. a factory that raises -------------------------------------------------


@pytest.mark.parametrize("option", ["", "cache 0", "cache 1"])
def test_raising_factory_propagates_caches_nothing_and_leaves_no_lock(target, option):
    calls = Calls()

    def make(key):
        n = calls.add(key)
        if n == 1:
            raise RuntimeError("factory failed")
        return App(f"{key}#{n}")

    mod = target(make=make, fallback=App("fallback"))
    app = build_module(
        f"""
        /{{k}} -> {mod}:make(k) {option}
        /      -> {mod}:fallback
        """
    ).application
    # The exception reaches the WSGI server: no fallback, no response.
    with pytest.raises(RuntimeError, match="factory failed"):
        request(app, "/x")
    assert calls.items == ["x"]
    # Another thread is not blocked by a lock left held, and the factory is
    # called again (nothing was cached).
    response = started(request, app, "/x").finish()
    assert response.status_code == 200 and response.body == "x#2"
    assert calls.items == ["x", "x"]
    # A third request, from yet another thread, completes as well.
    third = started(request, app, "/x").finish()
    assert third.status_code == 200
    if option == "cache 0":
        assert third.body == "x#3"
    else:
        assert third.body == "x#2"
        assert len(calls) == 2


def test_waiter_on_a_raising_factory_calls_it_again(target):
    """A thread waiting on the same key while the factory raises retries it."""
    calls = Calls()
    entered, release = threading.Event(), threading.Event()

    def make(key):
        n = calls.add(key)
        if n == 1:
            entered.set()
            assert release.wait(JOIN)
            raise RuntimeError("first call fails")
        return App(f"{key}#{n}")

    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k)\n").application
    first = started(request, app, "/k")
    assert entered.wait(JOIN)
    second = started(request, app, "/k")
    time.sleep(0.05)  # let the second request reach the key (either way is fine)
    release.set()
    with pytest.raises(RuntimeError, match="first call fails"):
        first.finish()
    assert second.finish().body == "k#2"
    assert calls.items == ["k", "k"]
    assert request(app, "/k").body == "k#2"


# -- 4. a factory returning None ----------------------------------------------


def test_none_is_not_cached_and_falls_back(target):
    calls = Calls()
    late_seen = Calls()
    fallback_environ: list[dict] = []

    def make(key):
        calls.add(key)
        if key == "nobody":
            return None
        if key == "late" and late_seen.add(1) == 1:
            return None  # None the first time, an app the next
        return App(key)

    def fallback(environ, start_response):
        fallback_environ.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fallback"]

    mod = target(make=make, fallback=fallback)
    app = build_module(
        f"""
        /{{k}} -> {mod}:make(k)
        /      -> {mod}:fallback
        """
    ).application

    for n in (1, 2, 3):
        response = request(app, "/nobody/x")
        assert response.status_code == 200 and response.body == "fallback"
        assert response.environ["dispatchc.route"] == "default /"
        # The "/" route does not move anything to SCRIPT_NAME.
        assert response.environ["PATH_INFO"] == "/nobody/x"
        assert response.environ["SCRIPT_NAME"] == ""
        assert calls.items == ["nobody"] * n  # None is not cached: asked again
    # Captures of the route that fell through do not leak (SPEC §3).
    assert all("wsgiorg.routing_args" not in e for e in fallback_environ)

    calls.clear()
    assert request(app, "/late").body == "fallback"
    assert request(app, "/late").body == "late"
    assert request(app, "/late").body == "late"  # an app is cached
    assert calls.items == ["late", "late"]


def test_none_without_fallback_is_404(target):
    calls = Calls()
    mod = target(make=lambda key: calls.add(key) and None)
    app = build_module(f"/{{k}} -> {mod}:make(k)\n").application
    for n in (1, 2):
        response = request(app, "/nobody")
        assert response.status_code == 404
        assert calls.items == ["nobody"] * n


def test_none_does_not_fall_back_to_another_host_block(target):
    calls = Calls()
    mod = target(make=lambda key: calls.add(key) and None, fallback=App("fallback"))
    app = build_module(
        f"""
        host a.test {{
            /{{k}} -> {mod}:make(k)
        }}
        default {{
            / -> {mod}:fallback
        }}
        """
    ).application
    assert request(app, "/nobody", host="a.test").status_code == 404
    assert request(app, "/nobody", host="b.test").body == "fallback"
    assert calls.items == ["nobody"]


# -- 5. the cache bound -------------------------------------------------------


class Tracked:
    """A factory that keeps weak references to every app it made."""

    def __init__(self) -> None:
        self.calls = Calls()
        self.refs: list[tuple[str, weakref.ref]] = []

    def __call__(self, key: str) -> App:
        n = self.calls.add(key)
        app = App(f"{key}#{n}")
        self.refs.append((key, weakref.ref(app)))
        return app

    def alive(self) -> list[str]:
        gc.collect()
        return sorted(key for key, ref in self.refs if ref() is not None)


def test_cache_bound_drops_the_oldest_created_first(target):
    make = Tracked()
    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k) cache 3\n").application
    for i in range(10):
        assert request(app, f"/k{i}").body == f"k{i}#{i + 1}"
    # At most 3 instances alive: the 3 newest (counting live objects through
    # weak references is the only way to observe memory without internals).
    assert make.alive() == ["k7", "k8", "k9"]

    make.calls.clear()
    for i in (7, 8, 9):  # hits: no call, and no bookkeeping on hits ...
        assert request(app, f"/k{i}").body == f"k{i}#{i + 1}"
    assert make.calls.items == []
    # ... so a new key drops k7, the oldest created, although it was just hit.
    assert request(app, "/k0").body == "k0#11"
    assert make.calls.items == ["k0"]
    assert request(app, "/k8").body == "k8#9"
    assert request(app, "/k9").body == "k9#10"
    assert make.calls.items == ["k0"]
    assert request(app, "/k7").body == "k7#12"  # re-created: it had been dropped
    assert make.calls.items == ["k0", "k7"]
    assert make.alive() == ["k0", "k7", "k9"]


def test_memory_does_not_grow_with_made_up_keys(target):
    make = Tracked()
    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k) cache 5\n").application
    for i in range(300):
        assert request(app, f"/made-up-{i}").status_code == 200
    assert len(make.calls) == 300
    assert len(make.alive()) == 5


def test_cache_1_keeps_one(target):
    make = Tracked()
    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k) cache 1\n").application
    for path in ("/a", "/a", "/b", "/b", "/a"):
        request(app, path)
    assert make.calls.items == ["a", "b", "a"]
    assert make.alive() == ["a"]


def test_cache_0_calls_the_factory_on_every_request(target):
    make = Tracked()
    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k) cache 0\n").application
    bodies = [request(app, "/same").body for _ in range(4)]
    assert bodies == ["same#1", "same#2", "same#3", "same#4"]
    assert make.alive() == []  # nothing kept


def test_default_cache_is_1024(target):
    make = Tracked()
    mod = target(make=make)
    app = build_module(f"/{{k}} -> {mod}:make(k)\n").application
    for i in range(1024):
        request(app, f"/{i}")
    assert len(make.calls) == 1024
    make.calls.clear()
    # All 1024 are kept.
    assert request(app, "/0").body == "0#1"
    assert request(app, "/1023").body == "1023#1024"
    assert make.calls.items == []
    assert len(make.alive()) == 1024
    # The 1025th drops the oldest created, "0", and nothing else.
    request(app, "/1024")
    assert request(app, "/1").body == "1#2"
    assert make.calls.items == ["1024"]
    assert request(app, "/0").body == "0#1026"
    assert make.calls.items == ["1024", "0"]
    assert len(make.alive()) == 1024


# -- 6. one cache per route ---------------------------------------------------


def test_each_route_has_its_own_cache(target):
    calls = Calls()
    mod = target(make=counting_factory(calls))
    app = build_module(
        f"""
        use shared = {mod}:make(k)
        /a/{{k}} -> {mod}:make(k)
        /b/{{k}} -> {mod}:make(k)
        /c -> {mod}:make("x")
        /d -> {mod}:make("x")
        /e/{{k}} -> shared
        /f/{{k}} -> shared
        """
    ).application
    first = [request(app, p).body for p in ("/a/x", "/b/x", "/c", "/d", "/e/x", "/f/x")]
    assert calls.items == ["x"] * 6  # same factory, same key: once per route
    assert first == [f"x#{n}" for n in range(1, 7)]
    again = [request(app, p).body for p in ("/a/x", "/b/x", "/c", "/d", "/e/x", "/f/x")]
    assert again == first
    assert len(calls) == 6


def test_each_host_block_route_has_its_own_cache(target):
    calls = Calls()
    mod = target(make=counting_factory(calls))
    app = build_module(
        f"""
        host a.test {{
            / -> {mod}:make("x")
        }}
        host b.test {{
            / -> {mod}:make("x")
        }}
        """
    ).application
    assert request(app, "/", host="a.test").body == "x#1"
    assert request(app, "/", host="b.test").body == "x#2"
    assert request(app, "/", host="a.test").body == "x#1"
    assert request(app, "/", host="b.test").body == "x#2"
    assert len(calls) == 2


def test_a_full_cache_on_one_route_does_not_evict_another(target):
    calls = Calls()
    mod = target(make=counting_factory(calls))
    app = build_module(
        f"""
        /a/{{k}} -> {mod}:make(k) cache 1
        /b/{{k}} -> {mod}:make(k) cache 1
        """
    ).application
    request(app, "/a/1")
    request(app, "/b/1")
    request(app, "/b/2")  # evicts b's "1", not a's
    calls.clear()
    assert request(app, "/a/1").body == "1#1"
    assert calls.items == []


# -- 7. options of a use, overridden by a route --------------------------------


def test_route_cache_overrides_the_use_cache(target):
    calls = Calls()
    mod = target(make=counting_factory(calls))
    app = build_module(
        f"""
        use u = {mod}:make(k) cache 3
        use none = {mod}:make(k) cache 0
        /x/{{k}} -> u cache 2
        /y/{{k}} -> u
        /z/{{k}} -> u cache 0
        /w/{{k}} -> none cache 5
        """
    ).application

    def misses(prefix: str, keys: str) -> str:
        """The keys among ``keys`` for which the factory was called."""
        calls.clear()
        for key in keys:
            request(app, f"/{prefix}/{key}")
        return "".join(calls.items)

    # /x: cache 2 (route) wins over cache 3 (use).
    assert misses("x", "abc") == "abc"
    assert misses("x", "bc") == ""
    assert misses("x", "a") == "a"  # "a" was dropped by "c"
    # /y: the use's cache 3.
    assert misses("y", "abc") == "abc"
    assert misses("y", "abc") == ""
    assert misses("y", "da") == "da"  # "d" drops "a"
    # /z: cache 0 (route) wins over cache 3.
    assert misses("z", "aa") == "aa"
    # /w: cache 5 (route) wins over cache 0 (use).
    assert misses("w", "abcde") == "abcde"
    assert misses("w", "abcde") == ""
    assert misses("w", "fa") == "fa"


# -- 8. factory arguments -----------------------------------------------------


def test_factory_arguments_positional_in_written_order(target):
    received: list[tuple] = []

    def f(*args, **kwargs):
        assert not kwargs, "factory arguments are positional"
        received.append(args)
        return App("f")

    def g(*args, **kwargs):
        assert not args and not kwargs
        received.append(())
        return App("g")

    mod = target(f=f, g=g)
    app = build_module(
        f"""
        host {{sub}}.example.com {{
            /{{a}}/{{b}} -> {mod}:f(b, "lit", 42, sub, a, -7, "q\\"\\\\", 0, "")
            /zero       -> {mod}:g()
        }}
        host {{tenant}}.{{region}}.example.org {{
            / -> {mod}:f(region, tenant)
        }}
        """
    ).application
    response = request(app, "/one/two/rest", host="Alice.example.com:8080")
    assert response.body == "f"
    assert received == [("two", "lit", 42, "alice", "one", -7, 'q"\\', 0, "")]
    assert [type(v) for v in received[0]] == [str, str, int, str, str, int, str, int, str]
    # Path captures moved to SCRIPT_NAME, the rest stays in PATH_INFO.
    assert response.environ["SCRIPT_NAME"] == "/one/two"
    assert response.environ["PATH_INFO"] == "/rest"

    received.clear()
    assert request(app, "/zero", host="bob.example.com").body == "g"
    assert request(app, "/zero", host="carol.example.com").body == "g"
    assert received == [()]  # zero arguments: one key, called once

    received.clear()
    assert request(app, "/", host="acme.eu.example.org").body == "f"
    assert received == [("eu", "acme")]


def test_string_and_int_literal_arguments_are_part_of_the_key(target):
    calls = Calls()
    mod = target(make=counting_factory(calls))
    app = build_module(
        f"""
        /s -> {mod}:make("1")
        /i -> {mod}:make(1)
        """
    ).application
    request(app, "/s")
    request(app, "/i")
    request(app, "/s")
    request(app, "/i")
    assert calls.items == ["1", 1]
    assert [type(v) for v in calls.items] == [str, int]


# -- 9. lazy -----------------------------------------------------------------


@pytest.fixture
def importable(tmp_path, monkeypatch):
    """``importable(source)`` writes a module to a temporary sys.path entry.

    The module, when imported, appends its name to ``log`` (a side effect
    that the test can observe). Everything is removed from sys.modules after.
    """
    log: list[str] = []
    log_name = f"_dc_lazy_log_{next(_ids)}"
    log_module = types.ModuleType(log_name)
    log_module.events = log
    sys.modules[log_name] = log_module
    names: list[str] = []

    def write(body: str) -> str:
        name = f"_dc_lazy_target_{next(_ids)}"
        (tmp_path / f"{name}.py").write_text(
            f"import {log_name}\n{log_name}.events.append(__name__)\n\n{body}",
            encoding="utf-8",
        )
        names.append(name)
        return name

    write.log = log  # type: ignore[attr-defined]
    monkeypatch.syspath_prepend(str(tmp_path))
    yield write
    for name in [*names, log_name]:
        sys.modules.pop(name, None)


APP_SOURCE = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"lazy app"]


def make(key):
    def made(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("made " + key).encode()]
    return made
"""


def _fresh(importable, count):
    names = [importable(APP_SOURCE) for _ in range(count)]
    importlib.invalidate_caches()
    return names


def test_lazy_defers_the_import_to_the_first_request(importable):
    app_mod, factory_mod, use_mod, never_mod = _fresh(importable, 4)
    module = build_module(
        f"""
        use later = {use_mod}:make(k) lazy
        /app        -> {app_mod}:app lazy
        /make/{{k}}  -> {factory_mod}:make(k) lazy
        /use/{{k}}   -> later
        /never      -> {never_mod}:app lazy
        """
    )
    log = importable.log
    assert log == []
    for name in (app_mod, factory_mod, use_mod, never_mod):
        assert name not in sys.modules

    assert request(module.application, "/app").body == "lazy app"
    assert log == [app_mod]
    assert request(module.application, "/make/x").body == "made x"
    assert request(module.application, "/make/y").body == "made y"
    assert request(module.application, "/use/z").body == "made z"
    assert request(module.application, "/app").body == "lazy app"
    assert log == [app_mod, factory_mod, use_mod]  # each imported once
    assert never_mod not in sys.modules  # a route never requested imports nothing


def test_without_lazy_the_target_is_imported_with_the_module(importable):
    app_mod, factory_mod = _fresh(importable, 2)
    module = build_module(
        f"""
        /app       -> {app_mod}:app
        /make/{{k}} -> {factory_mod}:make(k)
        """
    )
    assert sorted(importable.log) == sorted([app_mod, factory_mod])
    assert request(module.application, "/make/x").body == "made x"
    assert len(importable.log) == 2


def test_without_lazy_a_missing_module_fails_at_import():
    missing = f"_dc_no_such_module_{next(_ids)}"
    code = compile_text(f"/ -> {missing}:app\n")
    with pytest.raises(ModuleNotFoundError):
        load_module(code)
    code = compile_text(f"/{{k}} -> {missing}:make(k)\n")
    with pytest.raises(ModuleNotFoundError):
        load_module(code)


def test_without_lazy_a_missing_attribute_fails_at_import(target):
    mod = target(app=App("x"))
    with pytest.raises(AttributeError):
        build_module(f"/ -> {mod}:no_such_app\n")


def test_lazy_missing_module_fails_at_the_first_request():
    missing = f"_dc_no_such_module_{next(_ids)}"
    module = build_module(
        f"""
        /a       -> {missing}:app lazy
        /f/{{k}} -> {missing}:make(k) lazy
        /ok      -> status 204
        """
    )
    assert request(module.application, "/ok").status_code == 204
    with pytest.raises(ModuleNotFoundError):
        request(module.application, "/a")
    with pytest.raises(ModuleNotFoundError):
        request(module.application, "/f/x")


# -- 10. a factory that asks for its own key, or makes no application ----------


def _only_cache(module: types.ModuleType) -> Any:
    """The module's one factory cache (a compiler-owned name, _dc_cache_N)."""
    (cache,) = [v for k, v in vars(module).items() if k.startswith("_dc_cache_")]
    return cache


@pytest.mark.parametrize("how", ["application", "create", "cycle"])
def test_factory_asking_for_its_own_key_raises_instead_of_deadlocking(target, how):
    """A factory that requests its own key from inside itself (through the
    module's application, or the cache directly, or through another key
    whose factory asks for the first) would wait forever for the lock its
    own thread holds. It gets a RuntimeError naming the factory and the key
    instead; nothing stays locked or cached."""
    calls = Calls()
    inner: list[Any] = []
    module: types.ModuleType | None = None
    misbehave = threading.Event()
    misbehave.set()

    def make(key):
        n = calls.add(key)
        assert module is not None
        if misbehave.is_set():
            if key == "loop":
                # Another key works from inside a factory...
                inner.append(request(module.application, "/t/side").body)
                # ...its own does not.
                if how == "application":
                    request(module.application, "/t/loop/again")
                elif how == "create":
                    _only_cache(module).create("loop")
                else:
                    request(module.application, "/t/back")
            elif key == "back":
                request(module.application, "/t/loop")
        return App(f"{key}#{n}")

    mod = target(make=make)
    module = build_module(f"/t/{{k}} -> {mod}:make(k)\n")
    worker = started(request, module.application, "/t/loop")
    with pytest.raises(RuntimeError) as info:
        worker.finish()  # fails (instead of hanging) if the key deadlocks
    assert str(info.value) == f"{mod}:make('loop') asked for its own application while making it"
    assert inner == ["side#2"]
    assert calls.items == (["loop", "side", "back"] if how == "cycle" else ["loop", "side"])

    # Nothing is left locked: the next request for the key, from another
    # thread, calls the (now well-behaved) factory and gets its application.
    misbehave.clear()
    again = started(request, module.application, "/t/loop").finish()
    assert again.status_code == 200 and again.body.startswith("loop#")
    assert started(request, module.application, "/t/loop").finish().body == again.body
    # Other keys were not affected: "side" stayed cached.
    assert request(module.application, "/t/side").body == "side#2"


def test_a_factory_catching_the_reentry_error_still_makes_its_app(target):
    module: types.ModuleType | None = None
    errors: list[str] = []

    def make(key):
        assert module is not None
        try:
            request(module.application, f"/{key}")
        except RuntimeError as exc:
            errors.append(str(exc))
        return App(key)

    mod = target(make=make)
    module = build_module(f"/{{k}} -> {mod}:make(k)\n")
    assert started(request, module.application, "/x").finish().body == "x"
    assert errors == [f"{mod}:make('x') asked for its own application while making it"]
    assert request(module.application, "/x").body == "x"  # cached: no second call
    assert len(errors) == 1


@pytest.mark.parametrize("option", ["", "cache 0", "cache 1"])
@pytest.mark.parametrize("made", [42, "app", {"config": 1}], ids=["int", "str", "dict"])
def test_factory_returning_no_application_raises_and_caches_nothing(target, option, made):
    calls = Calls()

    def make(key, region):
        n = calls.add((key, region))
        return made if n == 1 else App(f"{key}#{n}")

    mod = target(make=make)
    app = build_module(f'/{{k}} -> {mod}:make(k, "eu") {option}\n').application
    with pytest.raises(TypeError) as info:
        request(app, "/x")
    assert str(info.value) == (
        f"{mod}:make('x', 'eu') returned {made!r}, not a WSGI application or None"
    )
    # Not cached: the next request calls the factory again and is served,
    # from another thread (no lock left held).
    response = started(request, app, "/x").finish()
    assert response.status_code == 200 and response.body == "x#2"
    assert calls.items == [("x", "eu"), ("x", "eu")]


def test_factory_of_one_argument_is_named_with_its_key(target):
    mod = target(make=lambda key: 42)
    app = build_module(f"host {{sub}}.example.com {{\n    / -> {mod}:make(sub)\n}}\n").application
    with pytest.raises(TypeError, match=rf"^{mod}:make\('acme'\) returned 42, not a WSGI"):
        request(app, "/", host="acme.example.com")
