"""Responses dispatchc answers itself: ``status``, ``redirect``, 400 and 404."""

from ...python.runtime.urls import _dc_with_query


class _DcStatus:
    """A response of dispatchc's own, as nginx's ``return``: a plain-text
    response with a fixed status (``status CODE``, and dispatchc's 400 and
    404), or, given a ``location``, a redirect there (``redirect CODE
    "URL"`` with nothing to substitute)."""

    __slots__ = ("_body", "_headers", "_location", "_status")

    def __init__(self, status, location=None):
        self._status = status
        self._location = location
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
        if self._location is not None:
            return _dc_redirect(environ, start_response, self._status, self._location)
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


_dc_misdirected_response = _DcStatus("421 Misdirected Request")


def _dc_misdirected(environ, start_response, parts, host, k):
    """A route of another upstream, in a backend's chain (SPEC §10): 421
    tells the edge (nginx) to send the request on to that upstream."""
    return _dc_misdirected_response(environ, start_response)
