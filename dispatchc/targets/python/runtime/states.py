"""A block's automaton at run time, whatever the protocol.

A state is ``(children, other, first, rest)``: a dict from a literal segment
to the next state, the state for any other non-empty segment (or None), the
route that handles a path ending here (or None), and the routes to fall
back to, in order, when its factory returns None (SPEC §3). A route that
depends on nothing in the request is a tuple ``(app, names, script, cut)``;
any other is a function the target writes for it, which returns
``_DC_FALLBACK`` when its factory returned None (the ASGI target's raise
``_DcFallback`` instead: see ``dispatchc.targets.asgi.runtime.walk``).
"""

#: Host captures of a host without any.
_DC_NO_CAPTURES = {}
#: What a route function returns when its factory returned None.
_DC_FALLBACK = object()


def _dc_leaves(root, prefixes, leaves, route=None):
    """A block's root state, with a state for each of its routes given as
    rows, ``{path: app}``: literal routes that need no state of their own in
    the module (see ``dispatchc.targets.python.emit.leaves``), one line
    each. Each row's state is what the compiler would have written out for
    it, hung under its parent, found by the path's literal segments (rows
    come sorted by path, so a row's parent row comes first). ``prefixes``:
    the host part of ``dispatchc.route`` for each pattern of the block.
    ``route``: what makes a row's route of ``(app, names, script, cut)``,
    when it is not that tuple itself (a block whose patterns capture)."""
    heads = [prefix + " " for prefix in prefixes]
    parent_path = None
    for path, app in leaves.items():
        base, _, segment = path.rpartition("/")
        if base != parent_path:  # a new parent (rows of one parent come together)
            parent = root
            for step in base.split("/")[1:]:
                parent = parent[0][step]
            parent_path = base
            children = parent[0]
            chain = parent[3] if parent[2] is None else (parent[2], *parent[3])
        names = tuple([head + path for head in heads])
        hit = (app, names, path, len(path))
        children[segment] = ({}, None, hit if route is None else route(*hit), chain)
    return root
