"""Targets of the live tests: each application answers with what it saw.

The body is JSON: the app, ``dispatchc.route``, SCRIPT_NAME, PATH_INFO,
``wsgiorg.routing_args``, the method and the request body, so that a test
can compare what an application behind nginx sees with what it sees in one
process. A factory returns None for an argument that starts with "none".
"""

import json


def _echo(label):
    def app(environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        seen = {
            "app": label,
            "route": environ.get("dispatchc.route"),
            "script_name": environ.get("SCRIPT_NAME"),
            "path_info": environ.get("PATH_INFO"),
            "routing_args": environ.get("wsgiorg.routing_args"),
            "method": environ.get("REQUEST_METHOD"),
            "body": body.decode("latin-1"),
            "host": environ.get("HTTP_HOST"),
        }
        data = json.dumps(seen, sort_keys=True).encode("ascii")
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    return app


web = _echo("web")
api = _echo("api")
admin = _echo("admin")
fallback = _echo("fallback")


def make(*args):
    if any(str(a).startswith("none") for a in args):
        return None
    return _echo("make" + repr(args))


def make2(*args):
    if any(str(a).startswith("none") for a in args):
        return None
    return _echo("make2" + repr(args))
