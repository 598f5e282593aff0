"""``--target nginx``: the edge of a deployment whose apps run on several
machines (SPEC §10). nginx picks the machine; each machine runs the WSGI
module that ``build --upstream NAME`` makes for it, which picks the app."""

from .target import TARGET as TARGET
from .target import NginxTarget as NginxTarget
