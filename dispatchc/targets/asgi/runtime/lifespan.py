"""The lifespan of the applications a module serves (SPEC §9).

The server's lifespan events are fanned out, concurrently, to every
imported ASGI application target (``_DC_LIFESPAN``): each runs its own
lifespan with a queue of its own and, when the server provides a
``state``, a ``state`` of its own, which each of its requests then sees a
shallow copy of. An application that raises (or returns) before completing
its startup does not support lifespan: it is left out, and the others go
on. A ``lifespan.startup.failed`` from any fails the whole startup, naming
the application as written (``module:attr``), after the applications that
had started are shut down. Shutdown reaches every application that started.
"""

import asyncio
import logging

from .tables import _DC_LIFESPAN

#: id(app) -> the ``state`` that app's lifespan startup filled.
_dc_states = {}


class _DcLifespan:
    """One application's lifespan, driven by the module's."""

    __slots__ = ("app", "inbox", "name", "shutdown", "startup", "state", "task")

    def __init__(self, app, name, scope):
        loop = asyncio.get_running_loop()
        self.app = app
        self.name = name
        self.inbox = asyncio.Queue()
        # Each resolves to (outcome, detail): "complete", "failed" (with the
        # app's message), or "none" for a startup (with the exception).
        self.startup = loop.create_future()
        self.shutdown = loop.create_future()
        self.state = None
        scope = dict(scope)
        if "state" in scope:
            self.state = scope["state"] = {}
        self.task = loop.create_task(self._run(scope))

    async def _run(self, scope):
        error = None
        try:
            await self.app(scope, self.inbox.get, self._send)
        except Exception as exc:
            error = exc
        finally:
            if not self.startup.done():
                self.startup.set_result(("none", error))
            elif not self.shutdown.done():
                if error is None:
                    self.shutdown.set_result(("complete", ""))
                else:
                    self.shutdown.set_result(("failed", f"{type(error).__name__}: {error}"))

    async def _send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            future, outcome = self.startup, "complete"
        elif kind == "lifespan.startup.failed":
            future, outcome = self.startup, "failed"
        elif kind == "lifespan.shutdown.complete":
            future, outcome = self.shutdown, "complete"
        elif kind == "lifespan.shutdown.failed":
            future, outcome = self.shutdown, "failed"
        else:
            raise RuntimeError(f"unexpected message {kind!r} during lifespan")
        if not future.done():
            future.set_result((outcome, message.get("message") or ""))


def _dc_failures(runs):
    return "; ".join(f"{run.name}: {detail}" if detail else run.name for run, detail in runs)


async def _dc_shutdown(started):
    """Shut the started applications down, together; those that failed."""
    for run in started:
        run.inbox.put_nowait({"type": "lifespan.shutdown"})
    failed = []
    for run in started:
        outcome, detail = await run.shutdown
        if outcome == "failed":
            failed.append((run, detail))
    return failed


async def _dc_lifespan(scope, receive, send):
    """The module's own lifespan: startup and shutdown of every application."""
    await receive()  # lifespan.startup
    runs = []
    seen = set()
    try:
        for app, name in _DC_LIFESPAN:
            if id(app) not in seen:  # one object may have two names
                seen.add(id(app))
                runs.append(_DcLifespan(app, name, scope))
        for run in runs:
            run.inbox.put_nowait({"type": "lifespan.startup"})
        started = []
        failed = []
        for run in runs:
            outcome, detail = await run.startup
            if outcome == "complete":
                started.append(run)
            elif outcome == "failed":
                failed.append((run, detail))
            else:
                logging.getLogger("dispatchc").info(
                    "%s does not support lifespan (%r): left out", run.name, detail
                )
        if failed:
            await _dc_shutdown(started)
            message = "startup failed: " + _dc_failures(failed)
            await send({"type": "lifespan.startup.failed", "message": message})
            return
        for run in started:
            if run.state is not None:
                _dc_states[id(run.app)] = run.state
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        failed = await _dc_shutdown(started)
        if failed:
            message = "shutdown failed: " + _dc_failures(failed)
            await send({"type": "lifespan.shutdown.failed", "message": message})
        else:
            await send({"type": "lifespan.shutdown.complete"})
    finally:
        left = []
        for run in runs:
            _dc_states.pop(id(run.app), None)
            if not run.task.done():
                run.task.cancel()
                left.append(run.task)
        if left:
            await asyncio.gather(*left, return_exceptions=True)


def _dc_state(scope, app):
    """Give a request for ``app`` a shallow copy of that app's own ``state``."""
    state = _dc_states.get(id(app))
    if state is not None and "state" in scope:
        scope["state"] = dict(state)
