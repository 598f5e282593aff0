"""The tables each generated module defines for itself.

The runtime reads them as globals; these empty stand-ins let the runtime
modules be imported and unit-tested (tests patch them). They are never
copied into a generated module.
"""

#: (literal labels, {suffix: {(capture labels or 0 for "*", port or None):
#: (host entry, capture names or None)}}), longest suffix first.
_DC_PATTERNS = ()
#: The host entry of the default block (or of a 404).
_DC_DEFAULT = None
#: Exact host -> host entry; (exact host, port) -> host entry.
_DC_EXACT = {}
_DC_EXACT_PORT = {}
