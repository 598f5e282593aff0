"""Source text and positions inside it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple


class Span(NamedTuple):
    """A range in a source file: 1-based lines and columns, end exclusive.
    (A named tuple: a large file makes hundreds of thousands of them, and a
    frozen dataclass costs several times as much to make.)"""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int, width: int = 1) -> Span:
        return cls(line, column, line, column + max(width, 1))

    def shifted(self, offset: int, width: int) -> Span:
        """A sub-span starting ``offset`` characters into this one (same line)."""
        col = self.column + offset
        return Span(self.line, col, self.line, col + max(width, 1))


@dataclass(frozen=True)
class Source:
    """A routing file: its display path and its decoded text."""

    path: str
    text: str
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def sha256(self) -> str:
        data = self.raw if self.raw else self.text.encode("utf-8")
        return hashlib.sha256(data).hexdigest()

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) without its line ending: lines end at
        ``\\n``, and only the ``\\r`` of a ``\\r\\n`` is dropped (a carriage
        return anywhere else is an error, shown in the line)."""
        lines = self.text.split("\n")
        if 1 <= line < len(lines):
            return lines[line - 1].removesuffix("\r")
        if line == len(lines):
            return lines[-1]
        return ""
