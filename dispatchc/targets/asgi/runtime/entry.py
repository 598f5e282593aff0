"""``application`` for a file with host blocks: pick the block, then walk.

A host entry is ``(walk, state, host, k)``: a walker with the block's root
state, the host's captures and the index of the pattern that matched (for
``dispatchc.route``); ``walk`` is None for a block whose one route always
answers (``state`` is the app and ``host`` its ``dispatchc.route``), and
False for a response of dispatchc's own, a 400 or a 404 (``state``).
"""

from ...python.runtime.hosts import _dc_lookup, _dc_lookup_by_port, _dc_normal_host, _dc_split_host
from ...python.runtime.states import _DC_NO_CAPTURES
from .lifespan import _dc_lifespan, _dc_states
from .responses import _dc_bad_request, _dc_not_found
from .tables import _DC_FAST, _DC_MEMO_SIZE, _dc_hosts
from .walk import _dc_base, _dc_shared_walker, _dc_state_of


def _dc_entry(table, k=0):
    """The host entry of a block's table (``_dc_table``) for the block's
    pattern ``k``: its depth's walker; None (and the app, and its
    ``dispatchc.route``) when its one route always answers."""
    root, depth = table
    hit = root[2]
    if not depth and hit.__class__ is tuple and not root[3]:
        return (None, hit[0], hit[1][k], 0)
    return (_dc_shared_walker(depth), root, _DC_NO_CAPTURES, k)


def _dc_host(scope, raw):
    """The request's (host, port), normalised; None when it is invalid (400).

    ``raw`` is the ``host`` header; without one (or with an empty one),
    ``scope["server"]``; the default port is the scheme's (SPEC §9)."""
    if raw:
        host = raw.decode("latin-1")
        if not host.isascii():
            return None
        found = _dc_split_host(host.lower())
        if found is None:
            return None
        name, port = found
    else:
        server = scope.get("server")
        if not server or server[1] is None:  # none, or a unix socket
            return None
        name = str(server[0])
        if not name.isascii():
            return None
        name = name.lower()
        if ":" in name and name[0] != "[":
            name = "[" + name + "]"
        port = str(server[1])
    return _dc_normal_host(name, port, 443 if scope.get("scheme") in ("https", "wss") else 80)


def _dc_by_bytes(hosts):
    """A table of hosts keyed by their bytes, as a scope's headers hold them."""
    return {host.encode("ascii"): entry for host, entry in hosts.items()}


#: The entry of an invalid host.
_DC_REJECT = (False, _dc_bad_request, None, 0)
#: The entry of a host no block takes, in a file without a default block.
_DC_NOWHERE = (False, _dc_not_found, None, 0)


def _dc_select(scope, raw):
    """The host entry for a Host header not in ``_dc_hosts`` (SPEC §2),
    remembered by its raw text: no pattern names a port, so the scheme
    (which sets the default port) cannot change the answer."""
    found = _dc_host(scope, raw)
    entry = _DC_REJECT if found is None else _dc_lookup(*found)
    # No valid Host is longer (253 + "." + ":65535"): longer ones are not
    # remembered, so the memo holds at most _DC_MEMO_SIZE short strings.
    if raw and len(raw) <= 260:
        global _dc_hosts
        if len(_dc_hosts) >= len(_DC_FAST) + _DC_MEMO_SIZE:
            _dc_hosts = dict(_DC_FAST)
        _dc_hosts[raw] = entry
    return entry


def _dc_select_by_port(scope, raw):
    """The host entry for a Host header not in ``_dc_hosts``, when some
    pattern names a port: nothing is remembered (the scheme may matter)."""
    found = _dc_host(scope, raw)
    return _DC_REJECT if found is None else _dc_lookup_by_port(*found)


async def application(scope, receive, send):
    """The ASGI entry point: the lifespan of the applications; or pick the
    host's block, walk the path, call the route."""
    if scope["type"] == "lifespan":
        return await _dc_lifespan(scope, receive, send)
    raw = None
    for name, value in scope["headers"]:
        if name == b"host":
            if raw is not None:  # two Host headers: which one is meant?
                return await _dc_bad_request(scope, receive, send)
            raw = value
    try:
        walk, state, host, k = _dc_hosts[raw]
    except KeyError:  # not seen yet, or no Host header
        walk, state, host, k = _dc_select(scope, raw)
    if walk:
        return await walk(scope, receive, send, state, host, k)
    if walk is False:
        return await state(scope, receive, send)
    # A block whose one route always answers.
    scope = {**scope}
    base = scope.get("root_path")
    if base:
        _dc_base(scope, base, scope["path"])
    scope["dispatchc.route"] = host
    if _dc_states:
        _dc_state_of(scope, state)
    return await state(scope, receive, send)
