"""Tiny WSGI apps and factories for the load test (tests/load/routes.disp).

Every app answers ``200`` with a JSON object saying which app it is and what
the dispatcher handed it: SCRIPT_NAME, PATH_INFO, ``dispatchc.route``,
``wsgiorg.routing_args``, the worker's pid and, for an app made by a
factory, how many times this process has made an app for the same factory
and arguments (``created``). The JSON is also sent in an ``X-Answer`` header,
so that a HEAD request can be checked too.

No Flask: the server should spend its time in the dispatcher, not in a
framework. Only the standard library is imported, so gunicorn workers start
fast.

``accepts(factory, args)`` says whether a factory returns an app or None; the
load driver uses it to compute the expected answer of every request with
``dispatchc.plan.matcher``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

USERS = ("alice", "bob", "carol")
REGIONS = ("eu", "us")
SECTIONS = ("billing", "reports")

# The generated module, when served under this name: answers report the size
# of its host memo so that the driver can tell it was reset under load.
ROUTES_MODULE = "load_routes"

# Seconds some factories take to make an app (as building a real app does),
# so that concurrent first requests for one key overlap in the factory and
# "made once per key" is tested under load, not just by luck.
SLOW = {"make_region": 0.02, "make_section": 0.02, "make_admin": 0.002}

_lock = threading.Lock()
_made: dict[tuple[str, tuple], int] = {}


def accepts(factory: str, args: tuple) -> bool:
    """Whether ``factory(*args)`` returns an app (True) or None (False)."""
    if factory == "make_tenant":
        return not args[0].startswith("none")
    if factory == "make_section":
        return args[1] in SECTIONS
    if factory == "make_region":
        return args[1] in REGIONS
    if factory == "make_user":
        return args[0] in USERS
    if factory == "make_axd":
        return args[0] != "none"
    return True


def _memo_size() -> int | None:
    """How many Host headers the generated module remembers (None: no memo)."""
    module = sys.modules.get(ROUTES_MODULE)
    if not hasattr(module, "_DC_MEMO_SIZE"):
        return None
    return len(module._dc_hosts)


def named(name: str, created: int = 0):
    """A WSGI app that answers with its name and what it saw."""

    def app(environ, start_response):
        routing_args = environ.get("wsgiorg.routing_args")
        answer = json.dumps(
            {
                "app": name,
                "created": created,
                "pid": os.getpid(),
                "script_name": environ.get("SCRIPT_NAME", ""),
                "path_info": environ.get("PATH_INFO", ""),
                "route": environ.get("dispatchc.route"),
                "routing_args": (
                    None if routing_args is None else [list(routing_args[0]), dict(routing_args[1])]
                ),
                "memo": _memo_size(),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        body = answer.encode("ascii")
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("X-Answer", answer),
            ],
        )
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return [body]

    return app


def factory_app_name(factory: str, args: tuple) -> str:
    """The name an app made by ``factory(*args)`` answers with."""
    return f"{factory}({','.join(str(a) for a in args)})"


def _factory(factory: str):
    def make(*args):
        if not accepts(factory, args):
            return None
        time.sleep(SLOW.get(factory, 0))
        key = (factory, args)
        with _lock:
            count = _made[key] = _made.get(key, 0) + 1
        return named(factory_app_name(factory, args), count)

    make.__name__ = make.__qualname__ = factory
    return make


class _Docs:
    """An object whose method is the app: ``load_apps:docs.wsgi_app`` (dotted attr)."""

    def __init__(self) -> None:
        self._app = named("docs.wsgi_app")

    def wsgi_app(self, environ, start_response):
        return self._app(environ, start_response)


site = named("site")
api = named("api")
api_v2 = named("api_v2")
admin = named("admin")
docs = _Docs()
secure_api = named("secure_api")
static = named("static")
users_home = named("users_home")
root = named("root")
a = named("a")
ab = named("ab")
abc = named("abc")
books = named("books")
ping = named("ping")

make_tenant = _factory("make_tenant")
make_tenant_8080 = _factory("make_tenant_8080")
make_admin = _factory("make_admin")
make_live = _factory("make_live")
make_section = _factory("make_section")
make_region = _factory("make_region")
make_user = _factory("make_user")
make_axd = _factory("make_axd")
