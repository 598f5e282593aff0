"""A block's automaton at run time, whatever the protocol.

A state is ``[children, other, first, rest]``: a dict from a literal segment
to the next state, the state for any other non-empty segment (or None), the
route that handles a path ending here (or None), and the routes to fall
back to, in order, when its factory returns None (SPEC §3). A route that
depends on nothing in the request is a tuple ``(app, names, script, cut)``;
any other is a function the target writes for it, which returns
``_DC_FALLBACK`` when its factory returned None (the ASGI target's raise
``_DcFallback`` instead: see ``dispatchc.targets.asgi.runtime.walk``).
"""

import gc

#: Host captures of a host without any.
_DC_NO_CAPTURES = {}
#: What a route function returns when its factory returned None.
_DC_FALLBACK = object()


def _dc_table(prefixes, apps, routes=None, hosted=None, elsewhere=(), misdirected=None):
    """A block's automaton, built when the module is imported from its
    routes by path: ``(root state, depth)``, ``depth`` being the segments
    of its longest route (how far a request walks; in a backend, of its
    own routes: no other upstream's route below them changes an answer).

    It is the automaton the compiler plans (``dispatchc.plan.automaton``):
    a trie of the paths' segments (``{name}`` is a capture: any non-empty
    segment), determinised into a tree of states. A state's chain is the
    routes of the paths that end in it, most specific first (at equal
    length a literal before a capture at the first place they differ,
    SPEC §3), then its parent's chain. So the module writes each route
    once, as a line of its block's table, and adding or removing one
    changes that line only.

    ``prefixes``: the host part of ``dispatchc.route`` for each pattern of
    the block. ``apps``: ``{path: app}`` for the routes that need nothing
    but constants and whose path is what SCRIPT_NAME gains (``/`` gains
    nothing); made ``(app, names, script, cut)``, or ``hosted(...)`` of
    that in a block whose patterns capture labels. ``routes``: ``{path:
    route}`` for the others, written out by the module. ``elsewhere``:
    paths of routes another upstream serves, in a backend's module (SPEC
    §10): a chain that meets one before any route of this backend skips
    it, one that meets it after ends there with ``misdirected`` (the 421
    responder), and an empty chain is ``misdirected`` alone."""
    if len(apps) == 1 and not routes and misdirected is None and "/" in apps:
        # The most common block of all: one "/" route, nothing to walk.
        names = tuple([prefix + " /" for prefix in prefixes])
        hit = (apps["/"], names, "", 0)
        return [{}, None, hit if hosted is None else hosted(*hit), ()], 0
    # Every container made here stays alive: the cyclic collector, which
    # the allocations would run again and again, has nothing to find.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _dc_automaton(prefixes, apps, routes, hosted, elsewhere, misdirected)
    finally:
        if collecting:
            gc.enable()


def _dc_automaton(prefixes, apps, routes, hosted, elsewhere, misdirected):
    """``_dc_table``'s work, with the collector paused."""
    heads = [prefix + " " for prefix in prefixes]
    away = object()  # a route of another upstream
    rows = []
    for path, app in apps.items():
        script = "" if path == "/" else path
        names = (heads[0] + path,) if len(heads) == 1 else tuple([head + path for head in heads])
        if hosted is None:
            rows.append((path, (app, names, script, len(script))))
        else:
            rows.append((path, hosted(app, names, script, len(script))))
    if routes:
        rows.extend(routes.items())
    rows.extend([(path, away) for path in elsewhere])
    if misdirected is None and not routes:
        found = _dc_literal_states(rows)
        if found is not None:
            return found
    # The trie: a node is [literal children, the capture child, its route,
    # its route's segments].
    trie = [{}, None, None, None]
    depth = 0
    for path, hit in rows:
        node = trie
        segments = path[1:].split("/") if path != "/" else ()
        for segment in segments:
            if segment[0] == "{":
                child = node[1]
                if child is None:
                    child = node[1] = [{}, None, None, None]
            else:
                child = node[0].get(segment)
                if child is None:
                    child = node[0][segment] = [{}, None, None, None]
            node = child
        node[2] = hit
        node[3] = segments
        if len(segments) > depth and hit is not away:  # no request walks past
            depth = len(segments)

    def ends(chain):
        """A state's (first, rest); in a backend, projected."""
        if misdirected is not None:
            kept = []
            for hit in chain:
                if hit is away:
                    if kept:
                        kept.append(misdirected)
                        break
                else:
                    kept.append(hit)
            chain = kept or (misdirected,)
        return (chain[0], chain[1:]) if chain else (None, ())

    # The states, top down (iteratively: paths may be deep): a frame is
    # (trie nodes, the parent's chain, the parent state, the segment that
    # leads here or None for the parent's "other"). A state is a list, so
    # that its children can be hung in it once they are made.
    root = None
    stack = [([trie], (), None, None)]
    while stack:
        nodes, chain, parent, step = stack.pop()
        children = {}
        state = [children, None, None, ()]
        if len(nodes) == 1:
            node = nodes[0]
            if node[2] is not None:
                chain = (node[2], *chain)
            capture = node[1]
            if capture is None:
                for segment, child in node[0].items():
                    stack.append(([child], chain, state, segment))
            else:
                for segment, child in node[0].items():
                    stack.append(([child, capture], chain, state, segment))
                stack.append(([capture], chain, state, None))
        else:
            own = sorted([node for node in nodes if node[2] is not None], key=_dc_first)
            chain = (*[node[2] for node in own], *chain)
            below = [node[1] for node in nodes if node[1] is not None]
            found = {}
            for node in nodes:
                for segment, child in node[0].items():
                    found.setdefault(segment, []).append(child)
            for segment, some in found.items():
                stack.append((some + below, chain, state, segment))
            if below:
                stack.append((below, chain, state, None))
        state[2], state[3] = ends(chain)
        if parent is None:
            root = state
        elif step is None:
            parent[1] = state
        else:
            parent[0][step] = state
    return root, depth


def _dc_literal_states(rows):
    """The automaton of literal paths, made in one pass when each path
    comes after the paths above it (a block's rows come sorted by path): a
    new state starts with its parent's chain, and a route goes in front of
    its own state's. ``(root, depth)``; None when a path is not literal or
    comes after one below it (the general way then builds it)."""
    root = [{}, None, None, ()]
    depth = 0
    for path, hit in rows:
        if "{" in path:
            return None
        node = root
        made = False
        segments = path[1:].split("/") if path != "/" else ()
        for segment in segments:
            children = node[0]
            child = children.get(segment)
            made = child is None
            if made:
                child = children[segment] = [{}, None, node[2], node[3]]
            node = child
        if not made and (node[0] or node is root and node[2] is not None):
            return None  # a state made before its own route: out of order
        if node[2] is not None:
            node[3] = (node[2], *node[3])
        node[2] = hit
        if len(segments) > depth:
            depth = len(segments)
    return root, depth


def _dc_first(node):
    """The order of a state's own routes (as many segments each): literal
    before capture at the first segment where they differ."""
    return [segment[0] == "{" for segment in node[3]]
