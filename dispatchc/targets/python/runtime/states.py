"""A block's automaton at run time, whatever the protocol.

A state is ``(children, other, first, rest)``: a dict from a literal segment
to the next state, the state for any other non-empty segment (or None), the
route that handles a path ending here (or None), and the routes to fall
back to, in order, when its factory returns None (SPEC §3). A route that
depends on nothing in the request is a tuple ``(app, names, script, cut)``;
any other is a function the target writes for it, which returns
``_DC_FALLBACK`` when its factory returned None.
"""

#: Host captures of a host without any.
_DC_NO_CAPTURES = {}
#: What a route function returns when its factory returned None.
_DC_FALLBACK = object()


def _dc_leaves(state, script, prefixes, leaves):
    """``state`` with a child for each of its *leaf* routes, given as
    ``{segment: app}``: a literal route that no other route continues, whose
    path is ``script + "/" + segment`` as written. Each child state is what
    the compiler would have written out for it; this way a table of many
    mounts is one line per route. ``prefixes``: the host part of
    ``dispatchc.route`` for each pattern of the block."""
    chain = state[3] if state[2] is None else (state[2], *state[3])
    children = state[0]
    for segment, app in leaves.items():
        path = script + "/" + segment
        names = tuple(prefix + " " + path for prefix in prefixes)
        children[segment] = ({}, None, (app, names, path, len(path)), chain)
    return state
