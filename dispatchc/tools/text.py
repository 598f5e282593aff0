"""Text that several tools print the same way."""

from __future__ import annotations

from ..ir import Route, target_text


def target_column(route: Route) -> str:
    """A route's target with its options and, when it was written with a
    ``use`` name, ``  (use NAME)``: the target column of ``show`` and
    ``explain``."""
    text = target_text(route.target)
    return f"{text}  (use {route.use})" if route.use else text
