"""Per-tenant ASGI applications for samples/asgi_mix.disp."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

TENANTS = {"alice": "Alice's shop", "bob": "Bob's bakery"}


async def make_app(tenant):
    """The app of a known tenant; None for anyone else (the request gets 404)."""
    if tenant not in TENANTS:
        return None

    async def home(request):
        params = request.scope["path_params"]
        return PlainTextResponse(f"{tenant}: {TENANTS[tenant]} (path_params={params})\n")

    return Starlette(routes=[Route("/", home)])
