"""Responses dispatchc answers itself: ``status``, ``redirect``, 400 and 404."""

from ...python.runtime.urls import _dc_with_query


class _DcStatus:
    """A plain-text response with a fixed status (``status CODE``)."""

    __slots__ = ("_body", "_headers", "_status")

    def __init__(self, status):
        self._status = status
        if status[:3] in ("204", "304"):
            self._body = b""
            self._headers = []
        else:
            self._body = status.encode("ascii") + b"\n"
            self._headers = [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(self._body))),
            ]

    def __call__(self, environ, start_response):
        start_response(self._status, list(self._headers))
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return [self._body]


_dc_bad_request = _DcStatus("400 Bad Request")
_dc_not_found = _DcStatus("404 Not Found")


def _dc_redirect(environ, start_response, status, location):
    """A redirect to ``location``, with the request's query appended."""
    query = environ.get("QUERY_STRING")
    if query:
        location = _dc_with_query(location, query)
    body = ("Redirecting to " + location + "\n").encode("latin-1")
    start_response(
        status,
        [
            ("Location", location),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ],
    )
    if environ.get("REQUEST_METHOD") == "HEAD":
        return []
    return [body]


class _DcRedirect:
    """``redirect CODE "URL"`` with nothing to substitute."""

    __slots__ = ("_location", "_status")

    def __init__(self, status, location):
        self._status = status
        self._location = location

    def __call__(self, environ, start_response):
        return _dc_redirect(environ, start_response, self._status, self._location)


_dc_misdirected_response = _DcStatus("421 Misdirected Request")


def _dc_misdirected(environ, start_response, parts, host, k):
    """A route of another upstream, in a backend's chain (SPEC §10): 421
    tells the edge (nginx) to send the request on to that upstream."""
    return _dc_misdirected_response(environ, start_response)
