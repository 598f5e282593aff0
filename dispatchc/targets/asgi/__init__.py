"""``--target asgi``: an ASGI module exposing ``application`` (SPEC §9)."""

from .target import TARGET as TARGET
from .target import AsgiTarget as AsgiTarget
