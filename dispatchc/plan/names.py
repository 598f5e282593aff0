"""Names from identity: what a generated name is made of.

A block is named after its most specific host pattern (``default`` for the
default block), a route after its path: adding, removing or reordering
other routes never renames one. Names are ASCII identifiers' tails (the
targets add their own prefix); text that would make two names equal gets a
short suffix from a hash of the text itself, so that the suffix is stable
too.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable

#: Readable part of a name, at most this many characters.
LIMIT = 40


def digest(text: str, size: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:size]


_OTHER = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def identifier(text: str, limit: int = LIMIT) -> str:
    """``text`` as lowercase ASCII letters, digits and single underscores;
    never empty (``x``). Longer text is cut and given a hash of the whole."""
    name = _OTHER.sub("_", text.lower()).strip("_") or "x"
    if len(name) > limit:
        name = name[:limit].rstrip("_") + "_" + digest(text)
    return name


def unique(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{key: name}`` for ``(key, base name)`` pairs with distinct keys:
    bases that collide all get ``_<hash of key>``, so no name depends on
    which other names exist beyond its own collisions."""
    pairs = list(items)
    count: dict[str, int] = {}
    for _, base in pairs:
        count[base] = count.get(base, 0) + 1
    names = {key: base if count[base] == 1 else f"{base}_{digest(key)}" for key, base in pairs}
    # A suffixed name can meet an unsuffixed one ("a_1f2e3d" written as a
    # path): lengthen the hash until every name is distinct.
    size = 6
    while len(set(names.values())) < len(names):
        size += 4
        seen: dict[str, int] = {}
        for name in names.values():
            seen[name] = seen.get(name, 0) + 1
        names = {
            key: (
                f"{base}_{digest(key, size)}" if count[base] > 1 or seen[names[key]] > 1 else base
            )
            for key, base in pairs
        }
    return names
