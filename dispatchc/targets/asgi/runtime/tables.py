"""The ASGI tables each generated module defines for itself (stand-ins for
tests; never copied)."""

#: Raw host header (bytes) -> host entry: the exact hosts as written, plus
#: (memo) headers already normalised and matched.
_dc_hosts = {}
#: The exact hosts as written (what ``_dc_hosts`` starts from).
_DC_FAST = {}
#: ``_dc_hosts`` holds at most this many headers beyond ``_DC_FAST``.
_DC_MEMO_SIZE = 1024
#: ``(app, "module:attr")`` for each application that gets the lifespan
#: events: imported ASGI applications (not factories, not lazy, not wsgi).
_DC_LIFESPAN = ()
