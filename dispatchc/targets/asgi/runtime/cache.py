"""The apps a factory made, per route (SPEC §4, with asyncio: SPEC §9)."""

import asyncio
import contextvars
import inspect

#: The ``(cache, key)`` pairs whose factory is running in this context (a
#: request made from inside a factory inherits it, even through a thread).
_dc_making = contextvars.ContextVar("dispatchc_making", default=())


def _dc_seen(task):
    """Mark a finished creation's exception as retrieved: every request
    that waited for it has raised it already, or was cancelled."""
    if not task.cancelled():
        task.exception()


class _DcCache:
    """The apps one route's factory made, by arguments (``cache N``).

    A hit is one dict lookup, without a lock and without awaiting anything.
    A miss starts one creation per key, which the requests for that key
    await together (single flight), so a slow factory delays neither other
    keys nor hits; the creation is a task of its own, so a request that
    goes away does not cancel it for the others. A factory defined with
    ``async def`` is awaited on the event loop; any other runs in a worker
    thread (``asyncio.to_thread``), so that it cannot block the loop (an
    awaitable it returns, as a lazy or wrapped ``async def`` does, is
    awaited). None and exceptions are not cached: the requests that waited
    for that creation get them, the next request calls the factory again.
    Nor is anything else that is not callable (TypeError). A factory that
    asks for its own key while making it gets a RuntimeError rather than
    waiting for itself. At most ``size`` apps are kept: the oldest created
    is dropped first. ``wrap`` (for a factory marked ``wsgi``) turns each
    app it makes into an ASGI one. The key is the argument itself for a
    factory of one argument, else the tuple of its arguments; ``name`` is
    the factory as written (``tenants:make_app``), for messages.
    """

    __slots__ = ("_arity", "_async", "_factory", "_name", "_pending", "_size", "_wrap", "apps")

    def __init__(self, factory, size, arity, name, wrap=None):
        self.apps = {}
        self._factory = factory
        self._size = size
        self._arity = arity
        self._name = name
        self._wrap = wrap
        self._pending = {}
        self._async = inspect.iscoroutinefunction(factory) or (
            callable(factory) and inspect.iscoroutinefunction(type(factory).__call__)
        )

    async def create(self, key):
        if (self, key) in _dc_making.get():
            raise RuntimeError(f"{self._call(key)} asked for its own application while making it")
        if not self._size:
            return await self._make(key)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._fill(key))
            pending.add_done_callback(_dc_seen)
        return await asyncio.shield(pending)

    async def _fill(self, key):
        try:
            app = await self._make(key)
            if app is not None:
                apps = self.apps
                while len(apps) >= self._size:
                    del apps[next(iter(apps))]
                apps[key] = app
            return app
        finally:
            del self._pending[key]

    async def _make(self, key):
        token = _dc_making.set((*_dc_making.get(), (self, key)))
        try:
            args = (key,) if self._arity == 1 else key
            if self._async:
                app = await self._factory(*args)
            else:
                app = await asyncio.to_thread(self._factory, *args)
                if inspect.isawaitable(app):
                    app = await app
        finally:
            _dc_making.reset(token)
        if app is None:
            return None
        if not callable(app):
            kind = "a WSGI" if self._wrap is not None else "an ASGI"
            raise TypeError(f"{self._call(key)} returned {app!r}, not {kind} application or None")
        return app if self._wrap is None else self._wrap(app)

    def _call(self, key):
        """The factory call that makes ``key``, as text: tenants:make_app('x')."""
        return f"{self._name}({key!r})" if self._arity == 1 else f"{self._name}{key!r}"
