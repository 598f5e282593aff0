"""``--target wsgi``: a WSGI module exposing ``application`` (SPEC §5)."""

from .target import TARGET as TARGET
from .target import WsgiTarget as WsgiTarget
