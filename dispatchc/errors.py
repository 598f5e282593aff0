"""Exceptions raised for a routing file that cannot be compiled."""

from __future__ import annotations

from .diagnostics import Diagnostic, render_text
from .source import Source


class DispatchError(Exception):
    """A routing file has errors. Carries every diagnostic found."""

    def __init__(self, source: Source, diagnostics: list[Diagnostic]):
        self.source = source
        self.diagnostics = diagnostics
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(render_text(self.source, d) for d in self.diagnostics)


class UsageError(Exception):
    """The command was used wrongly (a bad flag value, a missing file, an
    impossible combination): one line, exit 2."""
