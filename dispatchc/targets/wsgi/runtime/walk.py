"""Walking a block's automaton over PATH_INFO, then calling the route found.

A state is ``(children, other, first, rest)``: a dict from a literal segment
to the next state, the state for any other non-empty segment (or None), the
route that handles a path ending here (or None), and the routes to fall
back to, in order, when its factory returns None (SPEC §3).

A route is a tuple ``(app, names, script, cut)`` when nothing about it
depends on the request: ``names`` holds its ``dispatchc.route`` for each
host pattern of its block (``k`` picks one), ``script`` is what SCRIPT_NAME
gains and ``cut`` its length. Any other route is a function
``route(environ, start_response, parts, host, k)`` written for it in the
generated module, which returns the response, or ``_DC_FALLBACK`` when its
factory returned None.

A walker is made for a depth (the segments of a block's longest route):
``walk(environ, start_response, state, host, k)``, unrolled up to four
segments because a loop costs more than the lookups. Called with only
``(environ, start_response)`` it starts from ``root``: that is the whole
``application`` of a file without host blocks.
"""

from collections.abc import Mapping

from ...python.runtime.states import _DC_FALLBACK, _DC_NO_CAPTURES
from .responses import _dc_not_found

#: Walkers made so far, by depth: the blocks as deep share one.
_DC_WALKERS = {}


def _dc_routing_args(old, captures):
    """``wsgiorg.routing_args`` with a route's captures: an ``(args, kwargs)``
    already there keeps its args and has its kwargs updated; anything else
    in its place is taken as absent (SPEC §3)."""
    if (
        isinstance(old, tuple)
        and len(old) == 2
        and isinstance(old[0], tuple | list)
        and isinstance(old[1], Mapping)
    ):
        return old[0], {**old[1], **captures}
    return (), dict(captures)  # never the caller's dict: it may be the host entry's


def _dc_hosted(app, names, script, cut):
    """A route that needs nothing from the request but the host's captures
    (its block's patterns capture labels), which become its
    ``wsgiorg.routing_args``: a function, as the walkers call any route
    but a tuple (a tuple would cost every other route a test of them)."""

    def route(environ, start_response, parts, host, k):
        environ["dispatchc.route"] = names[k]
        if host:  # an exact pattern of the same block captures nothing
            old = environ.get("wsgiorg.routing_args")  # the entry keeps its own host dict:
            environ["wsgiorg.routing_args"] = (
                ((), host.copy()) if old is None else _dc_routing_args(old, host)
            )
        if cut:
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
            environ["PATH_INFO"] = environ["PATH_INFO"][cut:]
        return app(environ, start_response)

    return route


def _dc_fallback(environ, start_response, routes, parts, host, path_info, k):
    """The rest of a route chain, after a factory returned None (SPEC §3)."""
    for hit in routes:
        if hit.__class__ is tuple:
            app, names, script, cut = hit
            environ["dispatchc.route"] = names[k]
            if cut:
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
                environ["PATH_INFO"] = path_info[cut:]
            return app(environ, start_response)
        response = hit(environ, start_response, parts, host, k)
        if response is not _DC_FALLBACK:
            return response
    return _dc_not_found(environ, start_response)


def _dc_application(table):
    """``application`` of a file without host blocks: the walker of its
    default block's table (``_dc_table``), starting from its root."""
    root, depth = table
    return _dc_walker(depth, root)


def _dc_shared_walker(depth):
    """The walker for ``depth``, made once for all the blocks as deep."""
    walk = _DC_WALKERS.get(depth)
    if walk is None:
        walk = _DC_WALKERS[depth] = _dc_walker(depth)
    return walk


def _dc_walker(depth, root=None):
    """A walker for paths of up to ``depth`` segments: the steps written out
    up to four (a loop costs more than the lookups), a loop beyond. Called
    with the request's arguments only, it starts from ``root``."""
    if depth == 0:

        def walk(environ, start_response, state=root, host=_DC_NO_CAPTURES, k=0):
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                environ["dispatchc.route"] = names[k]
                return app(environ, start_response)
            if hit is None:
                return _dc_not_found(environ, start_response)
            response = hit(environ, start_response, None, host, k)
            if response is _DC_FALLBACK:
                return _dc_fallback(environ, start_response, state[3], None, host, "", k)
            return response

    elif depth == 1:

        def walk(environ, start_response, state=root, host=_DC_NO_CAPTURES, k=0):
            path_info = environ.get("PATH_INFO", "")
            parts = path_info.split("/", 2)
            if len(parts) > 1 and not parts[0]:
                segment = parts[1]
                child = state[0].get(segment)
                if child is None and segment:
                    child = state[1]
                if child is not None:
                    state = child
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                environ["dispatchc.route"] = names[k]
                if cut:
                    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
                    environ["PATH_INFO"] = path_info[cut:]
                return app(environ, start_response)
            if hit is None:
                return _dc_not_found(environ, start_response)
            response = hit(environ, start_response, parts, host, k)
            if response is _DC_FALLBACK:
                return _dc_fallback(environ, start_response, state[3], parts, host, path_info, k)
            return response

    elif depth == 2:

        def walk(environ, start_response, state=root, host=_DC_NO_CAPTURES, k=0):
            path_info = environ.get("PATH_INFO", "")
            parts = path_info.split("/", 3)
            if len(parts) > 1 and not parts[0]:
                segment = parts[1]
                child = state[0].get(segment)
                if child is None and segment:
                    child = state[1]
                if child is not None:
                    state = child
                    if len(parts) > 2:
                        segment = parts[2]
                        child = state[0].get(segment)
                        if child is None and segment:
                            child = state[1]
                        if child is not None:
                            state = child
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                environ["dispatchc.route"] = names[k]
                if cut:
                    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
                    environ["PATH_INFO"] = path_info[cut:]
                return app(environ, start_response)
            if hit is None:
                return _dc_not_found(environ, start_response)
            response = hit(environ, start_response, parts, host, k)
            if response is _DC_FALLBACK:
                return _dc_fallback(environ, start_response, state[3], parts, host, path_info, k)
            return response

    elif depth == 3:

        def walk(environ, start_response, state=root, host=_DC_NO_CAPTURES, k=0):
            path_info = environ.get("PATH_INFO", "")
            parts = path_info.split("/", 4)
            if len(parts) > 1 and not parts[0]:
                segment = parts[1]
                child = state[0].get(segment)
                if child is None and segment:
                    child = state[1]
                if child is not None:
                    state = child
                    if len(parts) > 2:
                        segment = parts[2]
                        child = state[0].get(segment)
                        if child is None and segment:
                            child = state[1]
                        if child is not None:
                            state = child
                            if len(parts) > 3:
                                segment = parts[3]
                                child = state[0].get(segment)
                                if child is None and segment:
                                    child = state[1]
                                if child is not None:
                                    state = child
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                environ["dispatchc.route"] = names[k]
                if cut:
                    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
                    environ["PATH_INFO"] = path_info[cut:]
                return app(environ, start_response)
            if hit is None:
                return _dc_not_found(environ, start_response)
            response = hit(environ, start_response, parts, host, k)
            if response is _DC_FALLBACK:
                return _dc_fallback(environ, start_response, state[3], parts, host, path_info, k)
            return response

    elif depth == 4:

        def walk(environ, start_response, state=root, host=_DC_NO_CAPTURES, k=0):
            path_info = environ.get("PATH_INFO", "")
            parts = path_info.split("/", 5)
            if len(parts) > 1 and not parts[0]:
                segment = parts[1]
                child = state[0].get(segment)
                if child is None and segment:
                    child = state[1]
                if child is not None:
                    state = child
                    if len(parts) > 2:
                        segment = parts[2]
                        child = state[0].get(segment)
                        if child is None and segment:
                            child = state[1]
                        if child is not None:
                            state = child
                            if len(parts) > 3:
                                segment = parts[3]
                                child = state[0].get(segment)
                                if child is None and segment:
                                    child = state[1]
                                if child is not None:
                                    state = child
                                    if len(parts) > 4:
                                        segment = parts[4]
                                        child = state[0].get(segment)
                                        if child is None and segment:
                                            child = state[1]
                                        if child is not None:
                                            state = child
            hit = state[2]
            if hit.__class__ is tuple:
                app, names, script, cut = hit
                environ["dispatchc.route"] = names[k]
                if cut:
                    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
                    environ["PATH_INFO"] = path_info[cut:]
                return app(environ, start_response)
            if hit is None:
                return _dc_not_found(environ, start_response)
            response = hit(environ, start_response, parts, host, k)
            if response is _DC_FALLBACK:
                return _dc_fallback(environ, start_response, state[3], parts, host, path_info, k)
            return response
    else:
        return _dc_looping_walker(depth, root)
    return walk


def _dc_looping_walker(depth, root=None):
    """The walker of ``_dc_walker`` for any depth, with a loop."""

    def walk(environ, start_response, state=root, host=_DC_NO_CAPTURES, k=0):
        path_info = environ.get("PATH_INFO", "")
        parts = path_info.split("/", depth + 1)
        if not parts[0]:
            for segment in parts[1 : depth + 1]:
                child = state[0].get(segment)
                if child is None:
                    child = state[1]
                    if child is None or not segment:
                        break
                state = child
        hit = state[2]
        if hit.__class__ is tuple:
            app, names, script, cut = hit
            environ["dispatchc.route"] = names[k]
            if cut:
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + script
                environ["PATH_INFO"] = path_info[cut:]
            return app(environ, start_response)
        if hit is None:
            return _dc_not_found(environ, start_response)
        response = hit(environ, start_response, parts, host, k)
        if response is _DC_FALLBACK:
            return _dc_fallback(environ, start_response, state[3], parts, host, path_info, k)
        return response

    return walk
