"""The documentation stays true to the code.

Conventions in the docs, checked here:

- ``docs/diagnostics.md`` has one ``## CODE name`` section per entry of
  ``dispatchc.diagnostics.CODES``. In a section, every ```disp block must get
  that code and be followed by a ```text block whose first line is the
  command (``$ dispatchc build routes.disp``) and the rest exactly what that
  command prints on stderr for the example saved as ``routes.disp``. A
  ```disp block whose first line is ``# fixed`` is the corrected file
  instead: it must compile without that code. An example whose first line
  starts with ``# saved as latin-1`` is written encoded as latin-1 (E002);
  in one whose first line starts with ``# saved with carriage returns``,
  each ``␍`` after that line is written as a carriage return (E004).
  An ``N...`` example (``--target nginx``) may have a ```toml block between
  the ```disp block and its output: the upstreams file, saved as
  ``upstreams.toml``; its fixed version is checked by running the command
  of the section's example, which must succeed without the code.
- In ``docs/language.md`` every ```disp block compiles, except one whose
  first line is ``# invalid: CODE``, which must get that code.
- ```python blocks whose first line is ``# from samples/NAME.py`` are
  excerpts that must appear verbatim in that file.
- In ``docs/cli.md``, a ```text block, a paragraph ``becomes`` and a ```disp
  block show ``dispatchc fmt``: the second is the first formatted.
- Relative links in README.md and docs/*.md point to existing files, and
  their ``#anchors`` to existing headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dispatchc.checks import check
from dispatchc.cli import main
from dispatchc.compiler import analyse
from dispatchc.diagnostics import CODES, ERROR, Diagnostic, render_text
from dispatchc.source import Source
from dispatchc.tools.fmt import format_text
from dispatchc.tools.resolve import resolve

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DIAGNOSTICS = DOCS / "diagnostics.md"
LANGUAGE = DOCS / "language.md"

#: Codes in CODES that this version never emits: their section has no example.
#: (N106: the language refuses first; N2xx: only explain --target nginx.)
NOT_EMITTED: set[str] = {"N106", "N201", "N202", "N203", "N204", "N205"}

FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
SECTION = re.compile(r"^## (?P<code>[EWN]\d{3}) (?P<name>\S+)[ \t]*$", re.M)
INVALID = re.compile(r"# invalid: (?P<code>[EW]\d{3})\s*$")
LATIN1 = "# saved as latin-1"
CARRIAGE_RETURNS = "# saved with carriage returns"
FIXED = "# fixed"
EXCERPT = re.compile(r"# from (?P<path>samples/\S+\.py)\s*$")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def blocks(text: str, lang: str) -> list[str]:
    return [m.group("body") for m in FENCE.finditer(text) if m.group("lang") == lang]


def first_line(body: str) -> str:
    return body.split("\n", 1)[0]


def raw_bytes(body: str) -> bytes:
    if body.startswith(CARRIAGE_RETURNS):
        head, _, rest = body.partition("\n")
        body = head + "\n" + rest.replace("\u240d", "\r")
    return body.encode("latin-1" if body.startswith(LATIN1) else "utf-8")


def diagnose(
    body: str, *, imports: bool = False, target: str = "wsgi"
) -> tuple[Source, list[Diagnostic]]:
    """Everything dispatchc reports for a routing file: errors (code generation
    included), warnings, and with ``imports`` what ``lint --resolve`` finds
    for a build with ``target``."""
    result = analyse("routes.disp", raw_bytes(body))
    if not result.ok:
        return result.source, result.diagnostics
    assert result.table is not None
    found = result.diagnostics + check(result.table)
    if imports:
        found += resolve(result.table, ".", target=target)
    return result.source, found


def section_target(code: str) -> str:
    """The target that the commands of a code's section build for."""
    found = re.search(r"^\$ dispatchc .*--target (\w+)", sections()[code][1], re.M)
    return found.group(1) if found else "wsgi"


def rendered(source: Source, diagnostics: list[Diagnostic]) -> str:
    return "\n".join(render_text(source, d) for d in diagnostics)


def sections() -> dict[str, tuple[str, str]]:
    """code -> (name, section text) of docs/diagnostics.md."""
    text = read(DIAGNOSTICS)
    found = list(SECTION.finditer(text))
    out = {}
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        assert m.group("code") not in out, f"two sections for {m.group('code')}"
        out[m.group("code")] = (m.group("name"), text[m.end() : end])
    return out


def diagnostic_examples() -> list[tuple[str, str, str | None, str | None]]:
    """(code, disp example, the text block after it or None, the toml block
    between them or None), in doc order."""
    out = []
    for code, (_, text) in sections().items():
        fences = list(FENCE.finditer(text))
        for i, m in enumerate(fences):
            if m.group("lang") != "disp":
                continue
            after = fences[i + 1] if i + 1 < len(fences) else None
            toml = None
            if (
                after is not None
                and after.group("lang") == "toml"
                and not text[m.end() : after.start()].strip()
            ):
                toml = after.group("body")
                m = after
                after = fences[i + 2] if i + 2 < len(fences) else None
            shown = None
            if after is not None and after.group("lang") == "text":
                between = text[m.end() : after.start()]
                if not between.strip():
                    shown = after.group("body")
            out.append((code, fences[i].group("body"), shown, toml))
    return out


def _example_params() -> list[object]:
    params = []
    seen: dict[str, int] = {}
    for code, body, shown, toml in diagnostic_examples():
        kind = "fixed" if first_line(body) == FIXED else "example"
        n = seen[code + kind] = seen.get(code + kind, 0) + 1
        params.append(pytest.param(code, body, shown, toml, id=f"{code}-{kind}-{n}"))
    return params


# -- (1) every code has its section -------------------------------------------


def test_every_code_has_a_section_with_its_name():
    documented = {code: name for code, (name, _) in sections().items()}
    assert set(documented) == set(CODES), (
        f"missing: {sorted(set(CODES) - set(documented))}, "
        f"unknown: {sorted(set(documented) - set(CODES))}"
    )
    for code, (_, name) in CODES.items():
        assert documented[code] == name, f"## {code} {documented[code]}: the name is {name}"


def test_every_emitted_code_has_an_example():
    with_example = {code for code, body, _, _ in diagnostic_examples() if first_line(body) != FIXED}
    assert with_example == set(CODES) - NOT_EMITTED
    for code in NOT_EMITTED:
        assert "not emitted" in sections()[code][1]


# -- (3) the examples of docs/diagnostics.md ----------------------------------


def _nginx_example(code, body, toml, tmp_path, monkeypatch, capsys) -> tuple[int, str]:
    """Run the section's command on an N... example (or its fixed version)."""
    command = next(s for c, b, s, _ in diagnostic_examples() if c == code and s)
    (tmp_path / "routes.disp").write_bytes(raw_bytes(body))
    if toml is not None:
        (tmp_path / "upstreams.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = command.split("\n", 1)[0].split()[2:]
    if first_line(body) == FIXED:
        argv += ["-o", "-"]
    status = main(argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(("code", "body", "shown", "toml"), _example_params())
def test_diagnostic_example(code, body, shown, toml, tmp_path, monkeypatch, capsys):
    if code.startswith("N"):
        status, err = _nginx_example(code, body, toml, tmp_path, monkeypatch, capsys)
        if first_line(body) == FIXED:
            assert status == 0 and f"[{code}]" not in err, err
            return
        assert shown is not None, f"the {code} example is not followed by its output"
        assert err.rstrip("\n") == shown.rstrip("\n").partition("\n")[2]
        assert status == (1 if CODES[code][0] == ERROR else 0)
        return
    target = section_target(code)
    if first_line(body) == FIXED:
        _, diagnostics = diagnose(body, imports=code.startswith("E4"), target=target)
        codes = [d.code for d in diagnostics]
        assert code not in codes and not any(d.is_error for d in diagnostics), (
            f"the fixed example still fails: {codes}"
        )
        return
    _, diagnostics = diagnose(body, imports=code.startswith("E4"), target=target)
    assert code in [d.code for d in diagnostics]
    assert shown is not None, f"the {code} example is not followed by its output"
    command, _, expected = shown.rstrip("\n").partition("\n")
    assert command.startswith("$ dispatchc "), f"no command line: {command!r}"
    argv = command.split()[2:]
    (tmp_path / "routes.disp").write_bytes(raw_bytes(body))
    monkeypatch.chdir(tmp_path)
    status = main(argv)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.rstrip("\n") == expected
    assert status == (1 if CODES[code][0] == ERROR else 0)


# -- (2) the examples of docs/language.md -------------------------------------


LANGUAGE_EXAMPLES = blocks(read(LANGUAGE), "disp")


def test_language_has_examples():
    assert len(LANGUAGE_EXAMPLES) >= 10


@pytest.mark.parametrize(
    "body", LANGUAGE_EXAMPLES, ids=[f"example-{i}" for i in range(1, len(LANGUAGE_EXAMPLES) + 1)]
)
def test_language_example(body):
    marker = INVALID.match(first_line(body))
    if marker is None:
        result = analyse("example.disp", body.encode("utf-8"))
        assert result.ok, rendered(result.source, result.diagnostics)
        _, diagnostics = diagnose(body)
        assert not any(d.is_error for d in diagnostics)
    else:
        _, diagnostics = diagnose(body)
        codes = [d.code for d in diagnostics]
        assert marker.group("code") in codes, f"expected {marker.group('code')}, got {codes}"


# -- excerpts of generated code -----------------------------------------------


def excerpts() -> list[tuple[str, str, str]]:
    out = []
    for doc in sorted(DOCS.glob("*.md")):
        for body in blocks(read(doc), "python"):
            m = EXCERPT.match(first_line(body))
            if m:
                out.append((doc.name, m.group("path"), body.split("\n", 1)[1]))
    return out


@pytest.mark.parametrize(
    ("doc", "path", "excerpt"),
    [pytest.param(*e, id=f"{e[0]}-{i}") for i, e in enumerate(excerpts(), start=1)],
)
def test_excerpt_is_in_the_sample(doc, path, excerpt):
    assert excerpt in read(ROOT / path), f"{doc}: excerpt no longer in {path}:\n{excerpt}"


# -- the fmt example of docs/cli.md --------------------------------------------


def test_fmt_example():
    text = read(DOCS / "cli.md")
    fences = list(FENCE.finditer(text))
    pairs = [
        (a.group("body"), b.group("body"))
        for a, b in zip(fences, fences[1:], strict=False)
        if a.group("lang") == "text"
        and b.group("lang") == "disp"
        and text[a.end() : b.start()].strip() == "becomes"
    ]
    assert pairs, "no fmt example in docs/cli.md"
    for before, after in pairs:
        assert format_text(before) == after


# -- (4) links ----------------------------------------------------------------


LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.M)
LINKED_FILES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def without_code(text: str) -> str:
    return FENCE.sub("", text)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower-case, punctuation dropped, spaces to '-'."""
    out = set()
    for m in HEADING.finditer(without_code(read(path))):
        title = re.sub(r"[^\w\- ]", "", m.group("title").lower())
        out.add(title.replace(" ", "-"))
    return out


def test_docs_exist():
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"language.md", "diagnostics.md", "cli.md", "generated-code.md", "decisions.md"} <= names


@pytest.mark.parametrize("doc", LINKED_FILES, ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    for m in LINK.finditer(without_code(read(doc))):
        target = m.group("target")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        assert linked.exists(), f"{doc.name}: broken link {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{doc.name}: no heading for {target}"
