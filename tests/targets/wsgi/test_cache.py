"""``_DcCache`` (``dispatchc.targets.wsgi.runtime.cache``) on its own (SPEC §4).

The generated route functions look a key up in ``cache.apps`` (a plain dict,
no lock) and call ``cache.create(key)`` on a miss. Joins and waits carry a
timeout that turns a deadlock into a failure (not a speed bound).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from dispatchc.targets.wsgi.runtime.cache import _DcCache

from ...helpers import Label

JOIN = 30.0


class Factory:
    """Counts calls; returns a Label app per key (or what ``make`` says)."""

    def __init__(self, make: Callable[..., Any] | None = None):
        self.calls: list[Any] = []
        self.make = make or (lambda *args: Label(repr(args)))
        self.lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self.lock:
            self.calls.append(args)
        return self.make(*args)


def run_threads(count: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
        assert not thread.is_alive(), "a thread is stuck (deadlock?)"
    assert not errors, errors


def test_a_hit_is_a_plain_dict_lookup_without_a_lock():
    factory = Factory()
    cache = _DcCache(factory, 8, 1, "m:f")
    apps = cache.apps
    made = cache.create("a")
    assert type(apps) is dict and apps["a"] is made
    # A hit never takes the cache's lock: with it held elsewhere, the
    # lookup the generated code does still answers.
    with cache._mutex:
        assert apps["a"] is made
    # The generated module binds cache.apps once: it stays the same dict.
    for i in range(40):
        cache.create(f"k{i}")
    assert cache.apps is apps and len(apps) == 8


def test_single_flight_per_key():
    release = threading.Event()
    started = threading.Event()

    def make(key: str) -> Label:
        started.set()
        assert release.wait(JOIN)
        return Label(key)

    factory = Factory(make)
    cache = _DcCache(factory, 16, 1, "m:f")
    results: list[Any] = [None] * 16

    def request(i: int) -> None:
        results[i] = cache.create("same")

    threads = [threading.Thread(target=request, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    assert started.wait(JOIN)
    release.set()
    for thread in threads:
        thread.join(JOIN)
        assert not thread.is_alive()
    assert factory.calls == [("same",)]
    assert all(r is results[0] for r in results)
    assert cache._pending == {}


def test_a_slow_factory_blocks_neither_other_keys_nor_hits():
    release = threading.Event()
    inside = threading.Event()

    def make(key: str) -> Label:
        if key == "slow":
            inside.set()
            assert release.wait(JOIN)
        return Label(key)

    cache = _DcCache(Factory(make), 16, 1, "m:f")
    hit = cache.create("hit")
    slow = threading.Thread(target=cache.create, args=("slow",))
    slow.start()
    assert inside.wait(JOIN)
    try:
        assert cache.apps["hit"] is hit
        other = threading.Thread(target=cache.create, args=("other",))
        other.start()
        other.join(JOIN)
        assert not other.is_alive(), "another key waited for the slow factory"
        assert cache.apps["other"].label == "other"
    finally:
        release.set()
        slow.join(JOIN)
    assert cache.apps["slow"].label == "slow"


def test_many_threads_on_many_cold_keys_call_each_factory_once():
    factory = Factory()
    cache = _DcCache(factory, 1024, 1, "m:f")

    def request(i: int) -> None:
        for n in range(200):
            key = f"k{(i * 7 + n) % 50}"
            app = cache.apps.get(key) or cache.create(key)
            assert app.label == repr((key,))

    run_threads(16, request)
    assert sorted(factory.calls) == sorted((f"k{n}",) for n in range(50))
    assert cache._pending == {}


def test_reentry_raises_instead_of_deadlocking():
    holder: dict[str, _DcCache] = {}

    def make(key: str) -> Label:
        if key == "loop":
            holder["cache"].create("loop")  # the same route, same key, from inside
        return Label(key)

    cache = holder["cache"] = _DcCache(Factory(make), 8, 1, "tenants:make_app")
    done: list[BaseException] = []

    def request() -> None:
        try:
            cache.create("loop")
        except RuntimeError as exc:
            done.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(JOIN)
    assert not thread.is_alive(), "the factory waited for itself"
    (error,) = done
    assert str(error) == "tenants:make_app('loop') asked for its own application while making it"
    assert "loop" not in cache.apps and cache._pending == {}
    # Another key from inside a factory is fine.
    nested = _DcCache(
        Factory(lambda k: holder["n"].create("inner") if k == "outer" else Label(k)), 8, 1, "m:f"
    )
    holder["n"] = nested
    assert nested.create("outer").label == "inner"


@pytest.mark.parametrize("made", [0, "app", b"x", ["app"], object()])
def test_a_result_that_is_not_an_app_is_a_type_error_and_is_not_cached(made):
    factory = Factory(lambda *args: made)
    cache = _DcCache(factory, 8, 2, "pkg.mod:make")
    with pytest.raises(TypeError) as info:
        cache.create(("a", 1))
    assert str(info.value) == (
        f"pkg.mod:make('a', 1) returned {made!r}, not a WSGI application or None"
    )
    assert cache.apps == {} and cache._pending == {}
    assert not cache._mutex.locked()


def test_none_and_exceptions_are_not_cached_and_leave_no_lock():
    answers: list[Any] = [None, ValueError("boom"), "app"]

    def make(key: str) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return None if answer is None else Label(key)

    factory = Factory(make)
    cache = _DcCache(factory, 8, 1, "m:f")
    assert cache.create("k") is None
    with pytest.raises(ValueError, match="boom"):
        cache.create("k")
    assert cache.apps == {} and cache._pending == {} and not cache._mutex.locked()
    app = cache.create("k")
    assert cache.apps == {"k": app}
    assert len(factory.calls) == 3


def test_eviction_drops_the_oldest_created_first_whatever_the_hits():
    cache = _DcCache(Factory(), 3, 1, "m:f")
    for key in "abc":
        cache.create(key)
    for _ in range(5):
        assert cache.apps["a"]  # hits leave no trace
    cache.create("d")
    assert list(cache.apps) == ["b", "c", "d"]
    cache.create("e")
    cache.create("f")
    assert list(cache.apps) == ["d", "e", "f"]


def test_cache_0_calls_the_factory_every_time_and_keeps_nothing():
    factory = Factory()
    cache = _DcCache(factory, 0, 1, "m:f")
    first, second = cache.create("k"), cache.create("k")
    assert first is not second and len(factory.calls) == 2
    assert cache.apps == {}


def test_keys_and_arity():
    factory = Factory()
    one = _DcCache(factory, 8, 1, "m:f")
    assert one.create(("t", "u")).label == repr((("t", "u"),))  # one argument: the key itself
    many = _DcCache(factory, 8, 3, "m:f")
    assert many.create(("a", 1, "b")).label == repr(("a", 1, "b"))  # spread positionally
    none = _DcCache(factory, 8, 0, "m:f")
    assert none.create(()).label == repr(())
