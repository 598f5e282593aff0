"""The ASGI side of samples/asgi_mix.disp: a Starlette API with a lifespan
of its own (run by the dispatcher), and a websocket endpoint."""

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute


@asynccontextmanager
async def lifespan(app):
    # What the API sets up at startup: every request sees it in its state.
    yield {"started": "api started by the dispatcher's lifespan"}


async def index(request):
    return PlainTextResponse(
        f"api: index (root_path={request.scope['root_path']!r}); {request.state.started}\n"
    )


async def user(request):
    return PlainTextResponse(f"api: user {request.path_params['name']}\n")


app = Starlette(routes=[Route("/", index), Route("/users/{name}", user)], lifespan=lifespan)


async def echo(websocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo: {text}")


live = Starlette(routes=[WebSocketRoute("/echo", echo)])
