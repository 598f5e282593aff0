"""SPEC §9 "Lifespan": the server's lifespan events fanned out to every
imported ASGI application target, each with its own state; failures
handled per application. Driven in process, by hand (to see every message)
and with asgi-lifespan's LifespanManager."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from .conftest import EchoApp, Seen, build_asgi, call_async, scope_for, target_module


class LifespanApp:
    """An ASGI app with a lifespan: it logs the events it gets, puts a
    resource of its own into its state, and answers requests with the
    state it sees."""

    def __init__(self, name: str, log: list, startup: str = "complete", shutdown: str = "complete"):
        self.name = name
        self.log = log
        self.startup = startup
        self.shutdown = shutdown

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            self.log.append((self.name, "request", dict(scope.get("state", {"no": "state"}))))
            if "state" in scope:
                scope["state"]["touched"] = True  # a request's copy, not the app's state
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": self.name.encode()})
            return
        if self.startup == "raise":
            raise ValueError("lifespan is not supported")  # before receiving anything
        message = await receive()
        self.log.append((self.name, message["type"], "state" in scope))
        if self.startup == "return":
            return
        if self.startup == "failed":
            await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
            return
        if "state" in scope:
            scope["state"]["resource"] = f"{self.name}-resource"
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        self.log.append((self.name, message["type"]))
        if self.shutdown == "failed":
            await send({"type": "lifespan.shutdown.failed", "message": "could not flush"})
        elif self.shutdown == "raise":
            raise RuntimeError("crashed at shutdown")
        else:
            await send({"type": "lifespan.shutdown.complete"})


class Driver:
    """The server's side of the lifespan protocol, recording what it gets."""

    def __init__(self, app: Any, state: bool = True):
        self.app = app
        self.scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}}
        if state:
            self.scope["state"] = {}
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.got = asyncio.Event()

    async def _send(self, message):
        self.sent.append(message)
        self.got.set()

    async def _expect(self) -> dict[str, Any]:
        await asyncio.wait_for(self.got.wait(), 5)
        self.got.clear()
        return self.sent[-1]

    async def startup(self) -> dict[str, Any]:
        self.task = asyncio.ensure_future(self.app(self.scope, self.inbox.get, self._send))
        await self.inbox.put({"type": "lifespan.startup"})
        return await self._expect()

    async def shutdown(self) -> dict[str, Any]:
        await self.inbox.put({"type": "lifespan.shutdown"})
        message = await self._expect()
        await asyncio.wait_for(self.task, 5)
        return message

    def request_scope(self, path: str) -> dict[str, Any]:
        """A request as a server builds it after startup: a shallow copy of
        the lifespan state (ASGI spec, "Lifespan State")."""
        scope = scope_for(path)
        if "state" in self.scope:
            scope["state"] = dict(self.scope["state"])
        return scope


@contextlib.contextmanager
def module_with(*apps: Any) -> Iterator[Any]:
    """The module of a file mounting each of ``apps`` at /its name."""
    with target_module(**{app.name: app for app in apps}) as m:
        yield build_asgi("".join(f"/{app.name} -> {m}:{app.name}\n" for app in apps))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_every_app_starts_and_stops_with_its_own_state():
    log: list = []
    a, b = LifespanApp("a", log), LifespanApp("b", log)
    with module_with(a, b) as module:

        async def main():
            driver = Driver(module.application)
            assert (await driver.startup())["type"] == "lifespan.startup.complete"
            seen_a = await call_async(module.application, driver.request_scope("/a/x"))
            seen_b = await call_async(module.application, driver.request_scope("/b"))
            again = await call_async(module.application, driver.request_scope("/a"))
            assert (seen_a.body, seen_b.body, again.body) == (b"a", b"b", b"a")
            assert (await driver.shutdown())["type"] == "lifespan.shutdown.complete"

        run(main())
    assert sorted(e for e in log if e[1] == "lifespan.startup") == [
        ("a", "lifespan.startup", True),
        ("b", "lifespan.startup", True),
    ]
    requests = [e for e in log if e[1] == "request"]
    # Each app sees its own state; a request's changes stay in its copy.
    assert requests == [
        ("a", "request", {"resource": "a-resource"}),
        ("b", "request", {"resource": "b-resource"}),
        ("a", "request", {"resource": "a-resource"}),
    ]
    assert sorted(e for e in log if e[1] == "lifespan.shutdown") == [
        ("a", "lifespan.shutdown"),
        ("b", "lifespan.shutdown"),
    ]


def test_startups_run_concurrently():
    """Two apps whose startups wait for each other: sequential startups
    would never finish."""
    events: dict[str, asyncio.Event] = {}

    class Waiting:
        def __init__(self, name, other):
            self.name, self.other = name, other

        async def __call__(self, scope, receive, send):
            await receive()
            events.setdefault(self.name, asyncio.Event()).set()
            await events.setdefault(self.other, asyncio.Event()).wait()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})

    with module_with(Waiting("a", "b"), Waiting("b", "a")) as module:

        async def main():
            driver = Driver(module.application)
            assert (await driver.startup())["type"] == "lifespan.startup.complete"
            assert (await driver.shutdown())["type"] == "lifespan.shutdown.complete"

        run(main())


@pytest.mark.parametrize("how", ["raise", "return"])
def test_an_app_without_lifespan_is_left_out_and_the_others_go_on(how, caplog):
    log: list = []
    good, plain = LifespanApp("good", log), LifespanApp("plain", log, startup=how)
    with module_with(good, plain) as module, caplog.at_level("INFO", logger="dispatchc"):

        async def main():
            driver = Driver(module.application)
            assert (await driver.startup())["type"] == "lifespan.startup.complete"
            await call_async(module.application, driver.request_scope("/plain"))
            assert (await driver.shutdown())["type"] == "lifespan.shutdown.complete"

        run(main())
    assert ("good", "lifespan.shutdown") in log
    assert not any(e[0] == "plain" and e[1] == "lifespan.shutdown" for e in log)
    # The app left out sees the server's state (nothing of its own).
    assert ("plain", "request", {}) in log
    assert "does not support lifespan" in caplog.text


def test_startup_failed_fails_all_after_shutting_down_the_started_ones():
    log: list = []
    ok = LifespanApp("ok", log)
    bad = LifespanApp("bad", log, startup="failed")
    with module_with(ok, bad) as module:

        async def main():
            driver = Driver(module.application)
            original = driver._send

            async def send(message):
                log.append(("server", message["type"]))
                await original(message)

            driver._send = send
            message = await driver.startup()
            await asyncio.wait_for(driver.task, 5)
            return message

        message = run(main())
    assert message["type"] == "lifespan.startup.failed"
    name = module_target(module, "bad")
    assert message["message"] == f"startup failed: {name}: database unreachable"
    # The app that had started was shut down before the server heard of the failure.
    assert log.index(("ok", "lifespan.shutdown")) < log.index(("server", message["type"]))
    assert [e for e in log if e[0] == "server"] == [("server", "lifespan.startup.failed")]


def module_target(module: Any, attr: str) -> str:
    """``module:attr`` as the routing file writes it."""
    return next(text for _, text in module._DC_LIFESPAN if text.endswith(":" + attr))


def test_shutdown_reaches_every_started_app_and_reports_their_failures():
    log: list = []
    apps = [
        LifespanApp("fine", log),
        LifespanApp("refuses", log, shutdown="failed"),
        LifespanApp("crashes", log, shutdown="raise"),
    ]
    with module_with(*apps) as module:

        async def main():
            driver = Driver(module.application)
            assert (await driver.startup())["type"] == "lifespan.startup.complete"
            return await driver.shutdown()

        message = run(main())
    assert {e[0] for e in log if e[1] == "lifespan.shutdown"} == {"fine", "refuses", "crashes"}
    assert message["type"] == "lifespan.shutdown.failed"
    refuses, crashes = module_target(module, "refuses"), module_target(module, "crashes")
    text = message["message"]
    assert text.startswith("shutdown failed: ")
    assert f"{refuses}: could not flush" in text
    assert f"{crashes}: RuntimeError: crashed at shutdown" in text
    assert "fine" not in text


def test_without_a_server_state_apps_get_none():
    log: list = []
    with module_with(LifespanApp("a", log)) as module:

        async def main():
            driver = Driver(module.application, state=False)
            await driver.startup()
            await call_async(module.application, driver.request_scope("/a"))
            await driver.shutdown()

        run(main())
    assert ("a", "lifespan.startup", False) in log
    assert ("a", "request", {"no": "state"}) in log


def test_factories_lazy_and_wsgi_apps_get_no_lifespan():
    log: list = []
    lazy, wsgi_app, made = LifespanApp("lazy", log), LifespanApp("wsgi_app", log), []

    def factory(key):
        made.append(key)
        return LifespanApp("made", log)

    with target_module(lazy=lazy, wsgi_app=wsgi_app, factory=factory) as m:
        module = build_asgi(
            f"/lazy -> {m}:lazy lazy\n/w -> {m}:wsgi_app wsgi\n/{{k}} -> {m}:factory(k)\n"
        )

        async def main():
            driver = Driver(module.application)
            assert (await driver.startup())["type"] == "lifespan.startup.complete"
            assert (await driver.shutdown())["type"] == "lifespan.shutdown.complete"

        run(main())
    assert module._DC_LIFESPAN == ()
    assert log == [] and made == []


def test_one_app_under_two_names_gets_one_lifespan():
    log: list = []
    app = LifespanApp("same", log)
    with target_module(same=app, alias=app) as m:
        module = build_asgi(f"/a -> {m}:same\n/b -> {m}:alias\n")

        async def main():
            driver = Driver(module.application)
            await driver.startup()
            await driver.shutdown()

        run(main())
    assert [e[1] for e in log] == ["lifespan.startup", "lifespan.shutdown"]


def test_with_asgi_lifespan_manager():
    log: list = []
    seen = Seen()
    api = LifespanApp("api", log)
    with target_module(api=api, other=EchoApp("other", seen)) as m:
        module = build_asgi(f"/api -> {m}:api\n/ -> {m}:other\n")

        async def main():
            async with LifespanManager(module.application) as manager:
                response = await call_async(manager.app, scope_for("/api/x"))
                assert response.body == b"api"
                await call_async(manager.app, scope_for("/elsewhere"))

        run(main())
    assert ("api", "request", {"resource": "api-resource"}) in log
    assert log[-1] == ("api", "lifespan.shutdown")
    # An app without a lifespan of its own sees the server's state.
    assert seen.apps[-1]["state"] == {}
