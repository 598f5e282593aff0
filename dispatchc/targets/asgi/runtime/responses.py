"""Responses dispatchc answers itself: ``status``, ``redirect``, 400 and 404.

On ``http`` they are plain responses, as the WSGI target's. On
``websocket`` they are denials: the same status and headers through the
``websocket.http.response`` extension when the server offers it, else a
``websocket.close`` before the connection is accepted (which servers turn
into 403).
"""

from ...python.runtime.urls import _dc_with_query


async def _dc_respond(scope, send, status, headers, body):
    """Send a whole response (or denial) with ``status``, ``headers`` and ``body``."""
    kind = scope["type"]
    if kind == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope.get("method") == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})
    elif kind == "websocket":
        if "websocket.http.response" in (scope.get("extensions") or ()):
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close"})
    else:
        raise RuntimeError(f"dispatchc cannot answer a {kind!r} request")


class _DcStatus:
    """A response of dispatchc's own, as nginx's ``return``: a plain-text
    response with a fixed status (``status CODE``, and dispatchc's 400 and
    404), or, given a ``location``, a redirect there (``redirect CODE
    "URL"`` with nothing to substitute)."""

    __slots__ = ("_body", "_headers", "_location", "_status")

    def __init__(self, status, location=None):
        self._status = int(status[:3])
        self._location = location
        if self._status in (204, 304):
            self._body = b""
            self._headers = ()
        else:
            self._body = status.encode("ascii") + b"\n"
            self._headers = (
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(self._body)).encode("ascii")),
            )

    async def __call__(self, scope, receive, send):
        if self._location is not None:
            await _dc_redirect(scope, send, self._status, self._location)
        else:
            await _dc_respond(scope, send, self._status, list(self._headers), self._body)


_dc_bad_request = _DcStatus("400 Bad Request")
_dc_not_found = _DcStatus("404 Not Found")


def _dc_as_path_info(text):
    """Decoded path text as PATH_INFO holds it: its UTF-8 bytes as latin-1."""
    return text.encode("utf-8", "replace").decode("latin-1")


async def _dc_redirect(scope, send, status, location):
    """A redirect to ``location``, with the request's query appended."""
    query = scope.get("query_string")
    if query:
        location = _dc_with_query(location, query.decode("latin-1"))
    body = ("Redirecting to " + location + "\n").encode("latin-1")
    headers = [
        (b"location", location.encode("latin-1")),
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    await _dc_respond(scope, send, status, headers, body)
