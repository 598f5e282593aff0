"""``python -m dispatchc``."""

from .cli import run

run()
