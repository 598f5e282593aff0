"""SPEC §4 with asyncio (SPEC §9 "Factories"): single flight per key, hits
that await nothing, other keys never wait, async factories awaited on the
loop, plain ones in a worker thread, None and exceptions not cached."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from .conftest import EchoApp, Seen, build_asgi, call, call_async, scope_for, target_module


def routes(m: str, options: str = "") -> str:
    return f"""\
    host {{tenant}}.example.com {{
        /         -> {m}:make(tenant){options}
    }}
    /{{key}}  -> {m}:make(key){options}
    /         -> {m}:fallback
    """


def test_fifty_concurrent_cold_requests_make_one_call():
    seen = Seen()
    calls = []

    async def make(tenant):
        calls.append(tenant)
        await asyncio.sleep(0.05)
        return EchoApp(f"app-{tenant}", seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application

        async def main():
            scopes = [scope_for("/x", "acme.example.com") for _ in range(50)]
            return await asyncio.gather(*(call_async(app, s) for s in scopes))

        responses = asyncio.run(main())
    assert calls == ["acme"]
    assert {r.body for r in responses} == {b"app-acme"}
    assert len(seen.apps) == 50


def test_concurrent_cold_requests_of_a_sync_factory_make_one_call():
    seen = Seen()
    calls = []

    def make(key):
        calls.append(key)
        time.sleep(0.05)
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application

        async def main():
            return await asyncio.gather(*(call_async(app, scope_for("/k")) for _ in range(50)))

        assert {r.body for r in asyncio.run(main())} == {b"k"}
    assert calls == ["k"]


def test_a_slow_factory_delays_neither_other_keys_nor_hits():
    seen = Seen()
    release = None  # an asyncio.Event, made inside the loop
    made = []

    async def make(key):
        made.append(key)
        if key == "slow":
            await release.wait()
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application

        async def main():
            nonlocal release
            release = asyncio.Event()
            await call_async(app, scope_for("/hot"))  # made once, now cached
            slow = asyncio.ensure_future(call_async(app, scope_for("/slow")))
            await asyncio.sleep(0.01)
            assert not slow.done()
            # Another key, and a hit, finish while the slow factory runs.
            other = await asyncio.wait_for(call_async(app, scope_for("/other")), 1)
            hit = await asyncio.wait_for(call_async(app, scope_for("/hot")), 1)
            assert not slow.done()
            release.set()
            return other, hit, await slow

        other, hit, slow = asyncio.run(main())
    assert (other.body, hit.body, slow.body) == (b"other", b"hot", b"slow")
    assert made == ["hot", "slow", "other"]


def test_a_hit_awaits_nothing():
    """A cached app is called in the same step of the event loop: the
    dispatcher never yields to the loop before the app runs."""
    seen = Seen()

    class Immediate:
        async def __call__(self, scope, receive, send):
            seen.apps.append("called")

    def make(key):
        return Immediate()

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application

        async def main():
            await app(scope_for("/k"), None, None)  # a miss: the factory runs
            coro = app(scope_for("/k"), None, None)
            with pytest.raises(StopIteration):
                coro.send(None)  # runs to the end without suspending once

        asyncio.run(main())
    assert seen.apps == ["called", "called"]


def test_a_sync_factory_runs_in_a_worker_thread_and_does_not_block_the_loop():
    seen = Seen()
    threads = []

    def make(key):
        threads.append(threading.current_thread())
        time.sleep(0.3)
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application

        async def main():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            task = asyncio.ensure_future(ticker())
            response = await call_async(app, scope_for("/k"))
            task.cancel()
            return response, ticks

        response, ticks = asyncio.run(main())
    assert response.body == b"k"
    assert threads and threads[0] is not threading.main_thread()
    assert ticks >= 10  # the loop went on for the 0.3 s the factory took


def test_an_async_factory_is_awaited_on_the_event_loop():
    seen = Seen()
    where = []

    async def make(key):
        where.append((threading.current_thread(), asyncio.get_running_loop()))
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m, " lazy")).application  # lazy: async found by calling

        async def main():
            await call_async(app, scope_for("/k"))
            return asyncio.get_running_loop()

        loop = asyncio.run(main())
    assert where == [(threading.main_thread(), loop)]


def test_none_is_not_cached_and_falls_back():
    seen = Seen()
    calls = []

    def make(key):
        calls.append(key)
        return None if len(calls) < 3 else EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application
        bodies = [call(app, scope_for("/k/x")).body for _ in range(4)]
    assert bodies == [b"fallback", b"fallback", b"k", b"k"]
    assert calls == ["k", "k", "k"]
    # The fallback did not see the captures of the route that fell through.
    assert "path_params" not in seen.apps[0]
    assert (seen.apps[0].get("root_path", ""), seen.apps[0]["dispatchc.route"]) == ("", "default /")


def test_the_fallback_after_a_none_runs_outside_any_exception():
    """Falling through is invisible to the application that takes over,
    from the first route of the chain and from a later one: it sees no
    exception being handled, and one it raises has nothing of dispatchc's
    chained to it (its traceback is its own)."""
    handled = []

    async def fallback(scope, receive, send):
        handled.append(sys.exc_info()[1])
        raise ValueError("the fallback failed")

    with target_module(make=lambda key: None, fallback=fallback) as m:
        app = build_asgi(
            f"""\
            /{{a}}/{{b}} -> {m}:make(b)
            /{{a}}       -> {m}:make(a)
            /            -> {m}:fallback
            """
        ).application
        for path in ("/k", "/k/x"):  # one route falls through, or two
            with pytest.raises(ValueError, match="the fallback failed") as info:
                call(app, scope_for(path))
            assert info.value.__context__ is None
            assert info.value.__cause__ is None
    assert handled == [None, None]


def test_an_exception_propagates_and_is_not_cached():
    seen = Seen()
    calls = []

    def make(key):
        calls.append(key)
        if len(calls) == 1:
            raise LookupError("no such tenant")
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application
        with pytest.raises(LookupError, match="no such tenant"):
            call(app, scope_for("/k"))
        assert call(app, scope_for("/k")).body == b"k"
    assert calls == ["k", "k"]


def test_waiting_requests_share_the_outcome_of_one_call():
    calls = []

    async def make(key):
        calls.append(key)
        await asyncio.sleep(0.02)
        raise LookupError(key)

    with target_module(make=make, fallback=EchoApp("fallback", Seen())) as m:
        app = build_asgi(routes(m)).application

        async def main():
            jobs = [call_async(app, scope_for("/k")) for _ in range(10)]
            return await asyncio.gather(*jobs, return_exceptions=True)

        results = asyncio.run(main())
    assert calls == ["k"]
    assert all(isinstance(r, LookupError) for r in results)


def test_a_request_that_goes_away_does_not_cancel_the_creation():
    seen = Seen()
    calls = []

    async def make(key):
        calls.append(key)
        await asyncio.sleep(0.05)
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        app = build_asgi(routes(m)).application

        async def main():
            first = asyncio.ensure_future(call_async(app, scope_for("/k")))
            await asyncio.sleep(0.01)
            second = asyncio.ensure_future(call_async(app, scope_for("/k")))
            await asyncio.sleep(0.01)
            first.cancel()
            return await second

        assert asyncio.run(main()).body == b"k"
    assert calls == ["k"]


def test_a_factory_asking_for_its_own_key_gets_an_error_not_a_deadlock():
    seen = Seen()
    holder = {}

    async def make(key):
        # A request to the same route, for the same key, from inside the factory.
        await call_async(holder["app"], scope_for(f"/{key}"))
        return EchoApp(key, seen)  # pragma: no cover

    def make_sync(key):
        loop = holder["loop"]
        future = asyncio.run_coroutine_threadsafe(call_async(holder["app"], scope_for("/k")), loop)
        return future.result(5)

    for factory in (make, make_sync):
        with target_module(make=factory, fallback=EchoApp("fallback", seen)) as m:
            holder["app"] = build_asgi(routes(m)).application

            async def main():
                holder["loop"] = asyncio.get_running_loop()
                await asyncio.wait_for(call_async(holder["app"], scope_for("/k")), 5)

            with pytest.raises(RuntimeError, match=r"make\('k'\) asked for its own application"):
                asyncio.run(main())


def test_a_result_that_is_not_an_application_is_a_type_error():
    with target_module(make=lambda key: "not an app", fallback=EchoApp("f", Seen())) as m:
        app = build_asgi(routes(m)).application
        with pytest.raises(TypeError, match=r"returned 'not an app', not an ASGI application"):
            call(app, scope_for("/k"))


def test_the_cache_is_bounded_oldest_created_first():
    seen = Seen()
    calls = []

    def make(key):
        calls.append(key)
        return EchoApp(key, seen)

    with target_module(make=make, fallback=EchoApp("fallback", seen)) as m:
        module = build_asgi(routes(m, " cache 2"))
        for key in ["a", "b", "a", "c", "a", "b"]:
            call(module.application, scope_for(f"/{key}"))
        assert calls == ["a", "b", "c", "a", "b"]
        cache = next(v for k, v in vars(module).items() if k.startswith("_dc_apps_default"))
        assert list(cache) == ["a", "b"]


def test_cache_0_calls_the_factory_on_every_request():
    calls = []

    def make(key):
        calls.append(key)
        return EchoApp(key, Seen())

    with target_module(make=make, fallback=EchoApp("fallback", Seen())) as m:
        app = build_asgi(routes(m, " cache 0")).application
        for _ in range(3):
            call(app, scope_for("/k"))
    assert calls == ["k", "k", "k"]


def test_each_route_has_its_own_cache():
    calls = []

    def make(key):
        calls.append(key)
        return EchoApp(key, Seen())

    with target_module(make=make, fallback=EchoApp("fallback", Seen())) as m:
        app = build_asgi(routes(m)).application
        call(app, scope_for("/", "acme.example.com"))
        call(app, scope_for("/acme"))
        call(app, scope_for("/acme"))
    assert calls == ["acme", "acme"]
