"""Diagnostics: what a check found, where, and how to show it.

Every code that the compiler or the linter can emit is listed in ``CODES``
and documented in ``docs/diagnostics.md`` (a test keeps the two in step).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .source import Source, Span

ERROR = "error"
WARNING = "warning"

#: code -> (severity, short name). Codes are stable: never renumber one.
CODES: dict[str, tuple[str, str]] = {
    "E001": (ERROR, "syntax-error"),
    "E002": (ERROR, "invalid-encoding"),
    "E003": (ERROR, "invalid-string"),
    "E004": (ERROR, "bare-carriage-return"),
    "E101": (ERROR, "undefined-name"),
    "E102": (ERROR, "duplicate-name"),
    "E103": (ERROR, "duplicate-route"),
    "E104": (ERROR, "duplicate-host"),
    "E105": (ERROR, "ambiguous-host"),
    "E106": (ERROR, "duplicate-default"),
    "E107": (ERROR, "use-of-use"),
    "E108": (ERROR, "reserved-name"),
    "E201": (ERROR, "invalid-host-pattern"),
    "E202": (ERROR, "invalid-path-pattern"),
    "E203": (ERROR, "path-table-too-large"),
    "E301": (ERROR, "invalid-module"),
    "E302": (ERROR, "invalid-attribute"),
    "E303": (ERROR, "unknown-capture"),
    "E304": (ERROR, "duplicate-capture"),
    "E305": (ERROR, "invalid-status"),
    "E306": (ERROR, "invalid-redirect-code"),
    "E307": (ERROR, "invalid-redirect-url"),
    "E308": (ERROR, "misplaced-option"),
    "E309": (ERROR, "invalid-option"),
    "E310": (ERROR, "invalid-argument"),
    "E311": (ERROR, "redirect-host-from-request"),
    "E401": (ERROR, "unimportable-module"),
    "E402": (ERROR, "missing-attribute"),
    "E403": (ERROR, "not-callable"),
    "E404": (ERROR, "wrong-signature"),
    "E405": (ERROR, "wrong-protocol"),
    "W101": (WARNING, "unused-name"),
    "W102": (WARNING, "no-root-route"),
    "W103": (WARNING, "redirect-loop"),
    "W104": (WARNING, "duplicate-target"),
    "W105": (WARNING, "glob-in-path"),
    "W106": (WARNING, "no-routes"),
    # --target nginx and --upstream (SPEC §10): the upstreams file ...
    "N001": (ERROR, "upstreams-syntax"),
    "N002": (ERROR, "upstreams-invalid"),
    "N003": (ERROR, "duplicate-app"),
    "N004": (WARNING, "unknown-app"),
    "N005": (WARNING, "unused-upstream"),
    # ... what the routing file asks that nginx cannot do as SPEC §2-§3 say ...
    "N101": (ERROR, "unmapped-target"),
    "N102": (ERROR, "chain-returns"),
    "N103": (ERROR, "port-not-listened"),
    "N104": (WARNING, "port-by-socket"),
    "N105": (ERROR, "nginx-status"),
    "N106": (ERROR, "unquotable-text"),
    "N107": (WARNING, "redirect-control"),
    "N108": (WARNING, "redirect-escaping"),
    "N109": (ERROR, "redirect-captures"),
    # ... and what nginx does to any request (explain --target nginx only).
    "N201": (WARNING, "dot-segments"),
    "N202": (WARNING, "nul-in-path"),
    "N203": (WARNING, "missing-host"),
    "N204": (WARNING, "absolute-form"),
    "N205": (WARNING, "host-checked"),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    help: str | None = None
    #: The file it is about, when not the routing file being read (an
    #: upstreams file): rendering uses it instead of the one it is given.
    source: Source | None = None

    def __post_init__(self) -> None:
        # Messages quote source text: never let it act on a terminal.
        object.__setattr__(self, "message", printable(self.message))
        if self.help is not None:
            object.__setattr__(self, "help", printable(self.help))

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    @property
    def name(self) -> str:
        return CODES[self.code][1]

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def sort_key(diagnostic: Diagnostic) -> tuple[int, int, int, str]:
    """By position; those about another file (an upstreams file) after."""
    other = diagnostic.source is not None
    return (other, diagnostic.span.line, diagnostic.span.column, diagnostic.code)


def render_text(source: Source, diagnostic: Diagnostic) -> str:
    """``path:line:col: error[E103]: message``, the source line and a caret."""
    source = diagnostic.source or source
    span = diagnostic.span
    head = (
        f"{source.path}:{span.line}:{span.column}: "
        f"{diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"
    )
    line = source.line_text(span.line)
    gutter = str(span.line)
    pad = " " * len(gutter)
    # Tabs keep their width in the excerpt so the caret lines up.
    prefix = "".join(c if c == "\t" else " " for c in line[: span.column - 1])
    width = (span.end_column - span.column) if span.end_line == span.line else 1
    width = max(1, min(width, max(1, len(line) - span.column + 1)))
    out = [
        head,
        f"{pad} |",
        f"{gutter} | {printable(line)}",
        f"{pad} | {prefix}{'^' * width}",
    ]
    if diagnostic.help:
        out.append(f"{pad} = help: {diagnostic.help}")
    return "\n".join(out)


def printable(line: str) -> str:
    """One line as it may be shown on a terminal: every character that
    ``str.isprintable`` refuses, except tab, becomes U+FFFD. That is the C0
    controls (escape, bell, carriage return, line feed...), DEL, the C1
    controls (U+0080-U+009F, U+009B is a CSI), format characters (the bidi
    controls U+202A-U+202E and U+2066-U+2069, zero-width characters),
    line and paragraph separators, spaces other than ' ', surrogates, and
    private-use or unassigned code points: nothing a routing file or a URL
    holds can move the cursor, recolour the terminal or reorder what a
    reviewer reads. One character for one, so columns stay where they were."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() or c == "\t" else "\ufffd" for c in line)


def printable_lines(text: str) -> str:
    """``printable`` for each line of ``text``: its ``\\n`` line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def render_json(items: Iterable[tuple[Source, Diagnostic]]) -> str:
    rows = [
        {
            "file": (d.source or source).path,
            "line": d.span.line,
            "column": d.span.column,
            "end_line": d.span.end_line,
            "end_column": d.span.end_column,
            "code": d.code,
            "name": d.name,
            "severity": d.severity,
            "message": d.message,
            "help": d.help,
        }
        for source, d in items
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def github_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(source: Source, d: Diagnostic) -> str:
    """A GitHub Actions workflow command: ``::error file=…,line=…,col=…,title=E103::…``."""
    kind = "error" if d.is_error else "warning"
    props = ",".join(
        [
            f"file={github_escape((d.source or source).path, prop=True)}",
            f"line={d.span.line}",
            f"col={d.span.column}",
            f"title={d.code}",
        ]
    )
    return f"::{kind} {props}::{github_escape(d.message)}"
