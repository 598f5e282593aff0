"""Host normalisation and host pattern lookup (SPEC §2).

``_dc_normal_host`` checks the host a protocol-specific reader took from
the request; ``_dc_match_patterns`` finds the entry of the most specific
pattern with literal labels (exact hosts are one dict lookup before it).
"""

import ipaddress

from .tables import _DC_DEFAULT, _DC_EXACT, _DC_EXACT_PORT, _DC_PATTERNS

_DC_HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_."


def _dc_split_host(host):
    """A Host header (ASCII, lower-cased) as (name, port text or None);
    None when something other than a port follows an IPv6 literal."""
    if host[0] == "[":
        end = host.find("]") + 1
        name, port = host[:end], host[end:]
        if not port:
            return name, None
        if port[0] != ":":
            return None
        return name, port[1:]
    name, colon, port = host.rpartition(":")
    if not colon:
        return host, None
    return name, port


def _dc_normal_host(name, port, default_port):
    """``(name, port)`` normalised, or None when the request gets 400.

    ``name`` is lower-case ASCII; ``port`` the port's text, or None for the
    scheme's ``default_port``."""
    if port is None:
        port = default_port
    elif port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536:
        port = int(port)
    else:
        return None
    if name[-1:] == ".":
        name = name[:-1]
    if name[:1] == "[":
        if name[-1] != "]" or "%" in name:
            return None
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    elif (
        not name
        or len(name) > 253
        or name.strip(_DC_HOST_CHARS)
        or ".." in name
        or name[0] == "."
        or name[-1] == "."
    ):
        return None
    return name, port


def _dc_patterns(patterns):
    """``_DC_PATTERNS`` from the host patterns with literal labels, a line
    each in the module: ``{(suffix, capture labels or 0 for "*", port):
    (host entry, capture names or None)}``, grouped by the suffix's labels,
    longest first."""
    sizes = {}
    for (suffix, head, port), found in patterns.items():
        suffixes = sizes.setdefault(suffix.count(".") + 1, {})
        suffixes.setdefault(suffix, {})[(head, port)] = found
    return tuple(sorted(sizes.items(), reverse=True))


def _dc_match_patterns(host, port):
    """The entry of the most specific pattern with literal labels that
    matches, with the host's captures; else the default block's."""
    labels = host.split(".")
    count = len(labels)
    for size, suffixes in _DC_PATTERNS:
        if count > size:
            entries = suffixes.get(".".join(labels[count - size :]))
            if entries is not None:
                head = count - size
                found = (
                    entries.get((head, port))
                    or entries.get((head, None))
                    or entries.get((0, port))
                    or entries.get((0, None))
                )
                if found is not None:
                    entry, names = found
                    if names is None:
                        return entry
                    return entry[0], entry[1], dict(zip(names, labels, strict=False)), entry[3]
    return _DC_DEFAULT


def _dc_lookup(host, port):
    """The entry for a normalised host, when no pattern names a port."""
    entry = _DC_EXACT.get(host)
    if entry is None:
        return _dc_match_patterns(host, port)
    return entry


def _dc_lookup_by_port(host, port):
    """The entry for a normalised host, when some pattern names a port."""
    entry = _DC_EXACT_PORT.get((host, port)) or _DC_EXACT.get(host)
    if entry is None:
        return _dc_match_patterns(host, port)
    return entry
