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
    heads = [prefix + " " for prefix in prefixes]
    away = object()  # a route of another upstream
    rows = []
    for path, app in apps.items():
        script = "" if path == "/" else path
        hit = (app, tuple([head + path for head in heads]), script, len(script))
        rows.append((path, hit if hosted is None else hosted(*hit)))
    if routes:
        rows.extend(routes.items())
    rows.extend([(path, away) for path in elsewhere])
    # The trie: a node is [literal children, the capture child, (kinds, route)].
    trie = [{}, None, None]
    depth = 0
    for path, hit in rows:
        node = trie
        segments = path[1:].split("/") if path != "/" else ()
        for segment in segments:
            if segment[:1] == "{":
                child = node[1]
                if child is None:
                    child = node[1] = [{}, None, None]
            else:
                child = node[0].get(segment)
                if child is None:
                    child = node[0][segment] = [{}, None, None]
            node = child
        node[2] = (tuple([segment[:1] == "{" for segment in segments]), hit)
        if len(segments) > depth and hit is not away:  # no request walks past
            depth = len(segments)

    def chain_of(nodes, parent):
        if len(nodes) == 1:
            own = nodes[0][2]
            return parent if own is None else (own[1], *parent)
        own = sorted([node[2] for node in nodes if node[2] is not None], key=_dc_first)
        return (*[hit for _, hit in own], *parent)

    def state(chain, children, other):
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
        if not chain:
            return (children, other, None, ())
        return (children, other, chain[0], tuple(chain[1:]))

    # Depth first, children before their parent (iterative: paths may be
    # deep). A frame is [nodes, chain, literal keys, capture nodes, built].
    built = []
    stack = [[[trie], chain_of([trie], ()), None, None, None]]
    while stack:
        frame = stack[-1]
        nodes, chain, keys, captures, _ = frame
        if keys is None:
            captures = frame[3] = [node[1] for node in nodes if node[1] is not None]
            if len(nodes) == 1:
                keys = frame[2] = list(nodes[0][0])
            else:
                keys = frame[2] = sorted({key for node in nodes for key in node[0]})
            if captures:
                stack.append([captures, chain_of(captures, chain), None, None, None])
            for key in reversed(keys):
                found = [node[0][key] for node in nodes if key in node[0]] + captures
                stack.append([found, chain_of(found, chain), None, None, None])
            continue
        stack.pop()
        other = built.pop() if captures else None
        start = len(built) - len(keys)
        children = dict(zip(keys, built[start:], strict=True))
        del built[start:]
        built.append(state(chain, children, other))
    return built[0], depth


def _dc_first(row):
    """The order of a state's own routes: literal before capture at the
    first segment where they differ (they have as many segments)."""
    return row[0]
