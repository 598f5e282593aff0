"""The apps a factory made, per route (SPEC §4)."""

import threading


class _DcCache:
    """The apps one route's factory made, by arguments (``cache N``).

    A hit is one dict lookup, without a lock. A miss locks only its own key,
    so a slow factory delays neither other keys nor hits. None and
    exceptions are not cached, nor is anything else that is not callable
    (TypeError). A factory that asks for its own key while making it (a
    request to the same route, from inside the factory) gets a RuntimeError
    rather than waiting for itself. At most ``size`` apps are kept: the
    oldest created is dropped first. The key is the argument itself for a
    factory of one argument, else the tuple of its arguments; ``name`` is
    the factory as written (``tenants:make_app``), for messages.
    """

    __slots__ = ("_arity", "_factory", "_mutex", "_name", "_pending", "_size", "apps")

    def __init__(self, factory, size, arity, name):
        self.apps = {}
        self._factory = factory if arity == 1 else (lambda args: factory(*args))
        self._size = size
        self._arity = arity
        self._name = name
        self._mutex = threading.Lock()
        self._pending = {}

    def create(self, key):
        if not self._size:
            return self._checked(key, self._factory(key))
        me = threading.get_ident()
        with self._mutex:
            pending = self._pending.get(key)
            if pending is None:
                # [the key's lock, requests waiting for it, the thread in the factory]
                pending = self._pending[key] = [threading.Lock(), 0, None]
            elif pending[2] == me:
                raise RuntimeError(
                    f"{self._call(key)} asked for its own application while making it"
                )
            pending[1] += 1
        try:
            with pending[0]:
                app = self.apps.get(key)
                if app is None:
                    pending[2] = me
                    try:
                        app = self._checked(key, self._factory(key))
                    finally:
                        pending[2] = None
                    if app is not None:
                        with self._mutex:
                            apps = self.apps
                            while len(apps) >= self._size:
                                del apps[next(iter(apps))]
                            apps[key] = app
                return app
        finally:
            with self._mutex:
                pending[1] -= 1
                if not pending[1]:
                    del self._pending[key]

    def _checked(self, key, app):
        if app is None or callable(app):
            return app
        raise TypeError(f"{self._call(key)} returned {app!r}, not a WSGI application or None")

    def _call(self, key):
        """The factory call that makes ``key``, as text: tenants:make_app('x')."""
        return f"{self._name}({key!r})" if self._arity == 1 else f"{self._name}{key!r}"
