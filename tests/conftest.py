"""Shared fixtures: compile routing text and import the generated module."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from dispatchc.compiler import compile_source

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

_counter = itertools.count()


def compile_text(text: str, name: str = "routes.disp") -> str:
    """Compile routing text to the generated module's source."""
    raw = textwrap.dedent(text).encode("utf-8")
    return compile_source(Path(name), raw, Path(name))


def load_module(code: str, name: str | None = None) -> ModuleType:
    """Execute generated source as a fresh module (not left in sys.modules)."""
    name = name or f"_dispatchc_test_{next(_counter)}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module


def build_module(text: str) -> ModuleType:
    return load_module(compile_text(text))


@pytest.fixture
def samples_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the sample apps importable, and forget them afterwards."""
    monkeypatch.syspath_prepend(str(SAMPLES))
    before = set(sys.modules)
    yield SAMPLES
    for mod in set(sys.modules) - before:
        del sys.modules[mod]
