"""``application`` for a file with host blocks: pick the block, then walk.

A host entry is ``(walk, state, host, k)``: a walker with the block's root
state, the host's captures and the index of the pattern that matched (for
``dispatchc.route``); ``walk`` is False for a block of ``/`` routes only
(nothing to walk), and None for a block whose one route always answers:
then ``state`` is the app and ``host`` its ``dispatchc.route``.
"""

from ...python.runtime.hosts import _dc_lookup, _dc_lookup_by_port, _dc_normal_host, _dc_split_host
from ...python.runtime.states import _DC_FALLBACK, _DC_NO_CAPTURES
from .responses import _dc_bad_request, _dc_not_found
from .tables import _DC_FAST, _DC_MEMO_SIZE, _dc_hosts
from .walk import _dc_fallback, _dc_shared_walker


def _dc_entry(table, k=0):
    """The host entry of a block's table (``_dc_table``) for the block's
    pattern ``k``: its depth's walker; False for a block of ``/`` routes
    only; None (and the app, and its ``dispatchc.route``) when its one
    route always answers."""
    root, depth = table
    if depth:
        return (_dc_shared_walker(depth), root, _DC_NO_CAPTURES, k)
    hit = root[2]
    if hit.__class__ is tuple and not root[3]:
        return (None, hit[0], hit[1][k], 0)
    return (False, root, _DC_NO_CAPTURES, k)


def _dc_host(environ):
    """The request's (host, port), normalised; None when it is invalid (400)."""
    host = environ.get("HTTP_HOST")
    if host:
        if not host.isascii():
            return None
        found = _dc_split_host(host.lower())
        if found is None:
            return None
        name, port = found
    else:
        name = environ.get("SERVER_NAME") or ""
        if not name.isascii():
            return None
        name = name.lower()
        if ":" in name and name[0] != "[":
            name = "[" + name + "]"
        port = environ.get("SERVER_PORT") or None
    return _dc_normal_host(name, port, 443 if environ.get("wsgi.url_scheme") == "https" else 80)


def _dc_reject(environ, start_response, parts, host, k):
    """The route of an invalid Host header: 400, before any app or factory."""
    return _dc_bad_request(environ, start_response)


#: The entry of an invalid host.
_DC_REJECT = (False, ({}, None, _dc_reject, ()), _DC_NO_CAPTURES, 0)
#: The entry of a host no block takes, in a file without a default block.
_DC_NOWHERE = (False, ({}, None, None, ()), _DC_NO_CAPTURES, 0)


def _dc_select(environ):
    """The host entry for a Host header not in ``_dc_hosts`` (SPEC §2),
    remembered by its raw text: no pattern names a port, so the scheme
    (which sets the default port) cannot change the answer."""
    found = _dc_host(environ)
    entry = _DC_REJECT if found is None else _dc_lookup(*found)
    raw = environ.get("HTTP_HOST")
    # No valid Host is longer (253 + "." + ":65535"): longer ones are not
    # remembered, so the memo holds at most _DC_MEMO_SIZE short strings.
    if raw and len(raw) <= 260:
        global _dc_hosts
        if len(_dc_hosts) >= len(_DC_FAST) + _DC_MEMO_SIZE:
            _dc_hosts = dict(_DC_FAST)
        _dc_hosts[raw] = entry
    return entry


def _dc_select_by_port(environ):
    """The host entry for a Host header not in ``_dc_hosts``, when some
    pattern names a port: nothing is remembered (the scheme may matter)."""
    found = _dc_host(environ)
    return _DC_REJECT if found is None else _dc_lookup_by_port(*found)


def application(environ, start_response):
    """The WSGI entry point: pick the host's block, walk the path, call the route."""
    try:
        walk, state, host, k = _dc_hosts[environ["HTTP_HOST"]]
    except KeyError:  # no Host header, or one not seen yet
        walk, state, host, k = _dc_select(environ)
    if walk is None:  # a block whose one route always answers
        environ["dispatchc.route"] = host
        return state(environ, start_response)
    if walk:
        return walk(environ, start_response, state, host, k)
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
