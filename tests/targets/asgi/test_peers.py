"""Peers: Starlette's Router with Host and Mount, and hypercorn's
DispatcherMiddleware, built from the same routing file.

Where their semantics agree (lower-case hosts without a trailing dot or a
port pattern, `{capture}` held to one label, paths that continue a mount
with "/", routes listed in dispatchc's precedence order), Starlette and the
ASGI build must call the same application with the same ``root_path``,
``path`` and ``path_params``. The tests after that show each documented
difference (docs/asgi.md, "Differences from Starlette").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re

import pytest
from asgi_lifespan import LifespanManager
from hypercorn.middleware import DispatcherMiddleware
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Host, Mount, Router

from dispatchc.compiler import load
from dispatchc.ir import AppTarget

from .conftest import EchoApp, Seen, build_asgi, call, scope_for, target_module


class LabelConvertor(Convertor):
    """One host label, as a dispatchc host capture."""

    regex = "[^./]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("label", LabelConvertor())

TABLE = """\
host example.com, www.example.com {
    /                   -> M:site
    /api                -> M:api
    /api/v2             -> M:v2
    /orgs/{org}         -> M:org
    /orgs/{org}/repos   -> M:repos
    /docs               -> M:docs
}
host {tenant}.example.com {
    /                   -> M:tenant
    /admin              -> M:admin
}
host {app}.{tenant}.example.net {
    /                   -> M:deep
}
/                       -> M:fallback
/static                 -> M:static
"""
LABELS = ("site", "api", "v2", "org", "repos", "docs", "tenant", "admin", "deep")
LABELS += ("fallback", "static")


def starlette_router(text: str, module, label: str = "label") -> Router:
    """A Starlette router for a table of applications: a Host per pattern,
    most specific first, each with a Mount per route in dispatchc's
    precedence order (Starlette takes the first that matches), then the
    default block's routes."""
    plan = load("routes.disp", text.encode()).plan
    assert plan is not None

    def mounts(block):
        routes = []
        for route in block.routes:
            target = route.target
            assert isinstance(target, AppTarget)
            app = getattr(module, target.attr)
            routes.append(Mount("" if route.path.text == "/" else route.path.text, app=app))
        return routes

    routes = []
    for rule in plan.hosts:
        pattern = re.sub(r"\{(\w+)\}", r"{\1:" + label + "}", rule.pattern.text)
        routes.append(Host(pattern, app=Router(mounts(rule.block))))
    if plan.default is not None:
        routes += mounts(plan.default)
    return Router(routes)


@pytest.fixture(scope="module")
def peers():
    seen = Seen()
    with target_module(**{label: EchoApp(label, seen) for label in LABELS}) as m:
        text = TABLE.replace("M:", m + ":")
        module = __import__(m)
        yield build_asgi(text).application, starlette_router(text, module), seen, text, module


HOSTS = ("example.com", "www.example.com", "acme.example.com", "a.b.example.net", "other.test")
PATHS = (
    "/",
    "/x",
    "/api/",
    "/api/users",
    "/apix",
    "/api/v2/",
    "/api/v2/x",
    "/orgs/acme/",
    "/orgs/acme/members",
    "/orgs/acme/repos/",
    "/orgs/acme/repos/web",
    "/docs/intro",
    "/admin/",
    "/admin/users",
    "/static/app.css",
    "/café/menu",
)
ROOT_PATHS = ("", "/mnt")


def observe(app, seen: Seen, scope) -> tuple:
    seen.apps.clear()
    response = call(app, scope)
    if not seen.apps:
        return (response.status,)
    record = seen.apps[-1]
    return (
        response.status,
        record["label"],
        record.get("root_path", ""),
        record["path"],
        record.get("path_params", {}),
    )


@pytest.mark.parametrize(
    ("host", "path", "root_path"), list(itertools.product(HOSTS, PATHS, ROOT_PATHS))
)
def test_starlette_agrees_where_the_semantics_do(peers, host, path, root_path):
    ours, theirs, seen, _, _ = peers
    scope = scope_for(root_path + path, host, root_path=root_path)
    assert observe(ours, seen, dict(scope)) == observe(theirs, seen, dict(scope))


# -- the differences, each in docs/asgi.md ----------------------------------------------


def test_a_mount_matches_its_own_path_only_in_dispatchc(peers):
    """``/api`` is the mount itself: dispatchc hands it to the api app (as
    werkzeug's DispatcherMiddleware does, PATH_INFO ""); Starlette's Mount
    needs ``/api/``: the "/" route gets ``/api``, and without one Starlette
    redirects to ``/api/``."""
    ours, theirs, seen, _, module = peers
    assert observe(ours, seen, scope_for("/api"))[:4] == (200, "api", "/api", "/api")
    assert observe(theirs, seen, scope_for("/api"))[:4] == (200, "site", "", "/api")
    response = call(Router([Mount("/api", app=module.api)]), scope_for("/api"))
    assert (response.status, response.location) == (307, "http://example.com/api/")


def test_a_capture_is_one_label_in_dispatchc(peers):
    """``{tenant}`` is one label; Starlette's default ``str`` convertor
    takes ``a.b`` too."""
    ours, _, seen, text, module = peers
    theirs = starlette_router(text, module, label="str")
    scope = scope_for("/x", "a.b.example.com")
    assert observe(ours, seen, dict(scope))[:2] == (200, "fallback")
    assert observe(theirs, seen, dict(scope))[:2] == (200, "tenant")
    assert seen.apps[-1]["path_params"] == {"tenant": "a.b"}


@pytest.mark.parametrize("host", ["example.com.", "Example.COM", "example.com:8080"])
def test_dispatchc_normalises_the_host(peers, host):
    """One trailing dot and case are normalised (SPEC §2); Starlette lower-
    cases but keeps the dot."""
    ours, theirs, seen, _, _ = peers
    assert observe(ours, seen, scope_for("/x", host))[:2] == (200, "site")
    expected = (200, "fallback") if host.endswith(".") else (200, "site")
    assert observe(theirs, seen, scope_for("/x", host))[:2] == expected


def test_order_does_not_matter_in_dispatchc():
    """Starlette takes the first route that matches, so a "/" mount listed
    first hides the others; dispatchc orders by specificity."""
    seen = Seen()
    with target_module(site=EchoApp("site", seen), api=EchoApp("api", seen)) as m:
        ours = build_asgi(f"/ -> {m}:site\n/api -> {m}:api\n").application
        module = __import__(m)
        theirs = Router([Mount("", app=module.site), Mount("/api", app=module.api)])
        assert observe(ours, seen, scope_for("/api/x"))[:2] == (200, "api")
        assert observe(theirs, seen, scope_for("/api/x"))[:2] == (200, "site")


def test_hypercorn_dispatcher_is_not_segment_bounded():
    seen = Seen()
    with target_module(site=EchoApp("site", seen), api=EchoApp("api", seen)) as m:
        ours = build_asgi(f"/ -> {m}:site\n/api -> {m}:api\n").application
        module = __import__(m)
        theirs = DispatcherMiddleware({"/api": module.api, "": module.site})
        assert observe(ours, seen, scope_for("/apix"))[:2] == (200, "site")
        assert observe(theirs, seen, scope_for("/apix", root_path=""))[:3] == (200, "api", "/api")


def test_websocket_404_is_a_denial_response_where_starlette_closes():
    """Offered the ``websocket.http.response`` extension, dispatchc answers
    an unrouted websocket with a real 404; Starlette closes it (a 403)."""
    seen = Seen()
    with target_module(api=EchoApp("api", seen)) as m:
        ours = build_asgi(f"/api -> {m}:api\n").application
        theirs = Router([Mount("/api", app=__import__(m).api)])
        extensions = {"websocket.http.response": {}}
        scope = scope_for("/x", kind="websocket", scheme="ws", extensions=extensions)
        response = call(ours, dict(scope))
        assert response.messages[0]["type"] == "websocket.http.response.start"
        assert response.status == 404
        assert [m["type"] for m in call(theirs, dict(scope)).messages] == ["websocket.close"]


class StartupApp:
    def __init__(self, name, log, fail=False):
        self.name, self.log, self.fail = name, log, fail

    async def __call__(self, scope, receive, send):
        assert scope["type"] == "lifespan"
        await receive()
        self.log.append(self.name)
        if self.fail:
            await send({"type": "lifespan.startup.failed", "message": "no"})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})


def test_mounted_apps_get_their_lifespan_only_in_dispatchc():
    log: list = []
    with target_module(a=StartupApp("a", log), b=StartupApp("b", log)) as m:
        ours = build_asgi(f"/a -> {m}:a\n/b -> {m}:b\n").application
        module = __import__(m)
        theirs = Router([Mount("/a", app=module.a), Mount("/b", app=module.b)])

        async def main(app):
            async with LifespanManager(app):
                pass

        asyncio.run(main(theirs))
        assert log == []
        asyncio.run(main(ours))
        assert sorted(log) == ["a", "b"]


def test_a_failed_startup_fails_in_dispatchc_where_hypercorn_hangs():
    log: list = []
    with target_module(ok=StartupApp("ok", log), bad=StartupApp("bad", log, fail=True)) as m:
        ours = build_asgi(f"/ok -> {m}:ok\n/bad -> {m}:bad\n").application
        module = __import__(m)
        theirs = DispatcherMiddleware({"/ok": module.ok, "/bad": module.bad})

        async def startup(app):
            sent = []
            inbox: asyncio.Queue = asyncio.Queue()
            done = asyncio.Event()

            async def send(message):
                sent.append(message["type"])
                done.set()

            task = asyncio.ensure_future(app({"type": "lifespan"}, inbox.get, send))
            await inbox.put({"type": "lifespan.startup"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return sent

        assert asyncio.run(startup(ours)) == ["lifespan.startup.failed"]
        assert asyncio.run(startup(theirs)) == []  # no answer: the server would wait forever
