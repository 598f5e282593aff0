"""Walking a block's automaton over the route path, then calling the route.

States and routes are those of ``dispatchc.targets.python.runtime.states``.
The route path is the request's ``path`` with ``root_path`` taken off on a
segment boundary (``_dc_base``); it is decoded text, so the tables hold
literal segments as text. A route that handles a request is given a
shallow copy of the scope whose ``root_path`` is extended by the matched
text (``script``), with ``dispatchc.route`` and, for a route with
captures, ``path_params``; ``path`` and ``raw_path`` are left as they are.
A route function is ``route(scope, receive, send, parts, host, k, base,
path)`` (``scope`` the copy; ``base`` the root path; ``path`` the route
path); it is a plain function that prepares the scope and returns what to
await (the app's call), so that a cache hit costs no coroutine of its own;
on a cache miss it returns ``_dc_cold``, which raises ``_DcFallback`` when
the factory returned None (an exception rather than a value to test, so
that nothing is tested on the way back from an app).

A walker is made for a depth (the segments of a block's longest route):
``walk(scope, receive, send, state, host, k)``, unrolled up to four
segments because a loop costs more than the lookups; called with only
``(scope, receive, send)`` it starts from ``root``. With ``entry`` it is the
``application`` of a file without host blocks, which also answers the
lifespan events.
"""

from collections.abc import Mapping

from ...python.runtime.states import _DC_NO_CAPTURES
from .lifespan import _dc_lifespan, _dc_states
from .responses import _dc_not_found

#: Walkers made so far, by depth: the blocks as deep share one.
_DC_WALKERS = {}


def _dc_base(scope, base, path):
    """``(root path, route path)`` of a request whose ``root_path`` is
    ``base`` (SPEC §9): one trailing "/" of ``base`` is ignored; when ``path``
    does not continue ``base`` on a segment boundary (a server that did not
    put ``root_path`` in ``path``), the route path is ``path`` itself, and
    ``scope`` (the copy) gets ``path = root_path + path``."""
    if base[-1] == "/":
        base = base[:-1]
        scope["root_path"] = base
    size = len(base)
    if path[:size] == base and (len(path) == size or path[size] == "/"):
        return base, path[size:]
    scope["path"] = base + path
    return base, path


def _dc_path_params(old, captures):
    """``path_params`` with a route's captures, when the scope has some
    already: a mapping is copied and updated; anything else in its place is
    taken as absent."""
    if isinstance(old, Mapping):
        return {**old, **captures}
    return dict(captures)


def _dc_hosted(app, names, script, cut):
    """A route that needs nothing from the request but the host's captures
    (its block's patterns capture labels), which become its
    ``path_params``: a function, as the walkers call any route but a tuple
    (a tuple would cost every other route a test of them)."""

    def route(scope, receive, send, parts, host, k, base, path):
        scope["dispatchc.route"] = names[k]
        if host:  # an exact pattern of the same block captures nothing
            scope["path_params"] = _dc_path_params(scope.get("path_params"), host)
        if cut:
            scope["root_path"] = base + script
        if _dc_states:
            _dc_state_of(scope, app)
        return app(scope, receive, send)

    return route


class _DcFallback(Exception):
    """What a route raises when its factory returned None: the request
    goes on to the next route of the chain (SPEC §3)."""


async def _dc_fallback(scope, receive, send, routes, parts, host, k, base, path):
    """The rest of a route chain, after a factory returned None (SPEC §3)."""
    for hit in routes:
        if hit.__class__ is tuple:
            app, names, script, cut = hit
            scope["dispatchc.route"] = names[k]
            if cut:
                scope["root_path"] = base + script
            if _dc_states:
                _dc_state_of(scope, app)
            return await app(scope, receive, send)
        try:
            return await hit(scope, receive, send, parts, host, k, base, path)
        except _DcFallback:  # its factory returned None
            pass
    return await _dc_not_found(scope, receive, send)


async def _dc_cold(route, cache, key, scope, receive, send, parts, host, k, base, path):
    """A factory route whose app is not made (or was dropped): make it
    (SPEC §4), then handle the request with it; or fall back on None."""
    app = await cache.create(key)
    if app is None:
        raise _DcFallback
    return await route(scope, receive, send, parts, host, k, base, path, app)


def _dc_state_of(scope, app):
    """A request for ``app`` sees a shallow copy of that app's own ``state``
    (from its lifespan), when the server gives requests one."""
    state = _dc_states.get(id(app))
    if state is not None and "state" in scope:
        scope["state"] = dict(state)


def _dc_application(table):
    """``application`` of a file without host blocks: the walker of its
    default block's table (``_dc_table``), starting from its root, which
    also answers the lifespan events."""
    root, depth = table
    return _dc_walker(depth, root, True)


def _dc_shared_walker(depth):
    """The walker for ``depth``, made once for all the blocks as deep."""
    walk = _DC_WALKERS.get(depth)
    if walk is None:
        walk = _DC_WALKERS[depth] = _dc_walker(depth)
    return walk


def _dc_walker(depth, root=None, entry=False):
    """A walker for paths of up to ``depth`` segments: the steps written out
    up to four (a loop costs more than the lookups), a loop beyond. Called
    with the request's arguments only, it starts from ``root``. A step goes
    to the segment's literal child, else (a non-empty segment) to the state
    for any other, else the walk ends where it is (states are never empty
    tuples, so ``or`` tells them from None). The first step looks nothing
    up at a root without literal children: a block whose routes capture
    their first segment (one app per first segment) pays for no lookup."""
    if depth == 0:

        async def walk(scope, receive, send, state=root, host=_DC_NO_CAPTURES, k=0):
            try:
                path = scope["path"]
            except KeyError:  # the lifespan scope has no path
                if entry and scope["type"] == "lifespan":
                    return await _dc_lifespan(scope, receive, send)
                raise
            scope = {**scope}
            try:
                base = scope["root_path"]
            except KeyError:  # optional; servers set it
                base = ""
            if base:
                base, path = _dc_base(scope, base, path)
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                scope["dispatchc.route"] = names[k]
                if cut:
                    scope["root_path"] = base + script
                if _dc_states:
                    _dc_state_of(scope, app)
                return await app(scope, receive, send)
            if hit is None:
                return await _dc_not_found(scope, receive, send)
            try:
                return await hit(scope, receive, send, None, host, k, base, path)
            except _DcFallback:  # its factory returned None
                pass
            return await _dc_fallback(scope, receive, send, state[3], None, host, k, base, path)

    elif depth == 1:

        async def walk(scope, receive, send, state=root, host=_DC_NO_CAPTURES, k=0):
            try:
                path = scope["path"]
            except KeyError:  # the lifespan scope has no path
                if entry and scope["type"] == "lifespan":
                    return await _dc_lifespan(scope, receive, send)
                raise
            scope = {**scope}
            try:
                base = scope["root_path"]
            except KeyError:  # optional; servers set it
                base = ""
            if base:
                base, path = _dc_base(scope, base, path)
            parts = path.split("/", 2)
            if path and not parts[0]:  # the path starts with "/"
                segment = parts[1]
                state = state[0] and state[0].get(segment) or segment and state[1] or state
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                scope["dispatchc.route"] = names[k]
                if cut:
                    scope["root_path"] = base + script
                if _dc_states:
                    _dc_state_of(scope, app)
                return await app(scope, receive, send)
            if hit is None:
                return await _dc_not_found(scope, receive, send)
            try:
                return await hit(scope, receive, send, parts, host, k, base, path)
            except _DcFallback:  # its factory returned None
                pass
            return await _dc_fallback(scope, receive, send, state[3], parts, host, k, base, path)

    elif depth == 2:

        async def walk(scope, receive, send, state=root, host=_DC_NO_CAPTURES, k=0):
            try:
                path = scope["path"]
            except KeyError:  # the lifespan scope has no path
                if entry and scope["type"] == "lifespan":
                    return await _dc_lifespan(scope, receive, send)
                raise
            scope = {**scope}
            try:
                base = scope["root_path"]
            except KeyError:  # optional; servers set it
                base = ""
            if base:
                base, path = _dc_base(scope, base, path)
            parts = path.split("/", 3)
            if path and not parts[0]:  # the path starts with "/"
                segment = parts[1]
                child = state[0] and state[0].get(segment) or segment and state[1]
                if child:
                    state = child
                    if len(parts) > 2:
                        segment = parts[2]
                        state = state[0].get(segment) or segment and state[1] or state
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                scope["dispatchc.route"] = names[k]
                if cut:
                    scope["root_path"] = base + script
                if _dc_states:
                    _dc_state_of(scope, app)
                return await app(scope, receive, send)
            if hit is None:
                return await _dc_not_found(scope, receive, send)
            try:
                return await hit(scope, receive, send, parts, host, k, base, path)
            except _DcFallback:  # its factory returned None
                pass
            return await _dc_fallback(scope, receive, send, state[3], parts, host, k, base, path)

    elif depth == 3:

        async def walk(scope, receive, send, state=root, host=_DC_NO_CAPTURES, k=0):
            try:
                path = scope["path"]
            except KeyError:  # the lifespan scope has no path
                if entry and scope["type"] == "lifespan":
                    return await _dc_lifespan(scope, receive, send)
                raise
            scope = {**scope}
            try:
                base = scope["root_path"]
            except KeyError:  # optional; servers set it
                base = ""
            if base:
                base, path = _dc_base(scope, base, path)
            parts = path.split("/", 4)
            if path and not parts[0]:  # the path starts with "/"
                segment = parts[1]
                child = state[0] and state[0].get(segment) or segment and state[1]
                if child:
                    state = child
                    if len(parts) > 2:
                        segment = parts[2]
                        child = state[0].get(segment) or segment and state[1]
                        if child:
                            state = child
                            if len(parts) > 3:
                                segment = parts[3]
                                state = state[0].get(segment) or segment and state[1] or state
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                scope["dispatchc.route"] = names[k]
                if cut:
                    scope["root_path"] = base + script
                if _dc_states:
                    _dc_state_of(scope, app)
                return await app(scope, receive, send)
            if hit is None:
                return await _dc_not_found(scope, receive, send)
            try:
                return await hit(scope, receive, send, parts, host, k, base, path)
            except _DcFallback:  # its factory returned None
                pass
            return await _dc_fallback(scope, receive, send, state[3], parts, host, k, base, path)

    elif depth == 4:

        async def walk(scope, receive, send, state=root, host=_DC_NO_CAPTURES, k=0):
            try:
                path = scope["path"]
            except KeyError:  # the lifespan scope has no path
                if entry and scope["type"] == "lifespan":
                    return await _dc_lifespan(scope, receive, send)
                raise
            scope = {**scope}
            try:
                base = scope["root_path"]
            except KeyError:  # optional; servers set it
                base = ""
            if base:
                base, path = _dc_base(scope, base, path)
            parts = path.split("/", 5)
            if path and not parts[0]:  # the path starts with "/"
                segment = parts[1]
                child = state[0] and state[0].get(segment) or segment and state[1]
                if child:
                    state = child
                    if len(parts) > 2:
                        segment = parts[2]
                        child = state[0].get(segment) or segment and state[1]
                        if child:
                            state = child
                            if len(parts) > 3:
                                segment = parts[3]
                                child = state[0].get(segment) or segment and state[1]
                                if child:
                                    state = child
                                    if len(parts) > 4:
                                        segment = parts[4]
                                        state = (
                                            state[0].get(segment) or segment and state[1] or state
                                        )
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                scope["dispatchc.route"] = names[k]
                if cut:
                    scope["root_path"] = base + script
                if _dc_states:
                    _dc_state_of(scope, app)
                return await app(scope, receive, send)
            if hit is None:
                return await _dc_not_found(scope, receive, send)
            try:
                return await hit(scope, receive, send, parts, host, k, base, path)
            except _DcFallback:  # its factory returned None
                pass
            return await _dc_fallback(scope, receive, send, state[3], parts, host, k, base, path)
    else:
        return _dc_looping_walker(depth, root, entry)
    return walk


def _dc_looping_walker(depth, root=None, entry=False):
    """The walker of ``_dc_walker`` for any depth, with a loop."""

    async def walk(scope, receive, send, state=root, host=_DC_NO_CAPTURES, k=0):
        try:
            path = scope["path"]
        except KeyError:  # the lifespan scope has no path
            if entry and scope["type"] == "lifespan":
                return await _dc_lifespan(scope, receive, send)
            raise
        scope = {**scope}
        try:
            base = scope["root_path"]
        except KeyError:  # optional; servers set it
            base = ""
        if base:
            base, path = _dc_base(scope, base, path)
        parts = path.split("/", depth + 1)
        if not parts[0]:
            for segment in parts[1 : depth + 1]:
                child = state[0] and state[0].get(segment) or segment and state[1]
                if not child:
                    break
                state = child
        hit = state[2]
        if hit.__class__ is tuple:
            app, names, script, cut = hit
            scope["dispatchc.route"] = names[k]
            if cut:
                scope["root_path"] = base + script
            if _dc_states:
                _dc_state_of(scope, app)
            return await app(scope, receive, send)
        if hit is None:
            return await _dc_not_found(scope, receive, send)
        try:
            return await hit(scope, receive, send, parts, host, k, base, path)
        except _DcFallback:  # its factory returned None
            pass
        return await _dc_fallback(scope, receive, send, state[3], parts, host, k, base, path)

    return walk
