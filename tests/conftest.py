"""Shared fixtures. Plain helpers are in ``helpers.py`` (re-exported here
for the test files that still import them from ``conftest``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import ROOT as ROOT
from .helpers import SAMPLES as SAMPLES
from .helpers import build_module as build_module
from .helpers import compile_text as compile_text
from .helpers import load_module as load_module
from .helpers import target_module


@pytest.fixture
def samples_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Make the sample apps importable, and forget them afterwards."""
    monkeypatch.syspath_prepend(str(SAMPLES))
    before = set(sys.modules)
    yield SAMPLES
    for mod in set(sys.modules) - before:
        del sys.modules[mod]


@pytest.fixture
def targets() -> Iterator[ModuleType]:
    """A target module ``T`` (``helpers.target_module``); routing text says
    ``T:...``. Removed from ``sys.modules`` afterwards."""
    module = target_module()
    try:
        yield module
    finally:
        sys.modules.pop(module.__name__, None)
