"""WSGI applications (the ``wsgi`` option) served through a2wsgi.

One a2wsgi middleware, so one thread pool, serves every WSGI application
of a module, whatever the number of applications or of factory keys: the
route's scope (a copy of the request's, already dispatched) carries the
application to call, and the WSGI side gives it the environ that the WSGI
target would: SCRIPT_NAME and PATH_INFO from ``root_path`` and ``path``
(whatever ``SCRIPT_NAME`` says in ``os.environ``, which a2wsgi would
otherwise prefer), ``wsgiorg.routing_args`` from ``path_params``, and
``dispatchc.route``.
"""

from collections.abc import Mapping

from a2wsgi import WSGIMiddleware

from .responses import _dc_as_path_info


def _dc_wsgi_call(environ, start_response):
    """The WSGI side of the bridge, in a2wsgi's worker thread."""
    scope = environ["asgi.scope"]
    app = scope.pop("dispatchc.wsgi_app")
    root = scope.get("root_path", "")
    environ["SCRIPT_NAME"] = _dc_as_path_info(root)
    environ["PATH_INFO"] = _dc_as_path_info(scope["path"][len(root) :])
    environ["dispatchc.route"] = scope["dispatchc.route"]
    params = scope.get("path_params")
    if params and isinstance(params, Mapping):
        kwargs = {k: _dc_as_path_info(v) if v.__class__ is str else v for k, v in params.items()}
        environ["wsgiorg.routing_args"] = ((), kwargs)
    return app(environ, start_response)


#: The one bridge (and thread pool) of the module.
_dc_a2wsgi = WSGIMiddleware(_dc_wsgi_call)


class _DcWsgi:
    """A WSGI application, called as an ASGI one."""

    __slots__ = ("_app",)

    def __init__(self, app):
        self._app = app

    def __call__(self, scope, receive, send):
        scope["dispatchc.wsgi_app"] = self._app  # the route's own copy of the scope
        return _dc_a2wsgi(scope, receive, send)
