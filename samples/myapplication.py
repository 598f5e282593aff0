"""App factories of the sample: one Flask app per user.

``make_app(name)`` serves both Flask patterns: per subdomain
(``alice.example.com``) and per first path segment
(``users.example.org/alice``). It returns None for unknown users, so the
request falls back to the next matching route (``default_app``), or gets 404
when there is none.
"""

from flask import Flask, request

USERS = {"alice": "Alice Liddell", "bob": "Bob Dobbs"}


def make_app(name):
    if name not in USERS:
        return None
    app = Flask(f"user_{name}")

    @app.get("/")
    @app.get("/<path:rest>")
    def home(rest=""):
        return (
            f"{name}: hello {USERS[name]} "
            f"(SCRIPT_NAME={request.script_root!r}, PATH_INFO={'/' + rest!r})\n"
        )

    return app


default_app = Flask("default_app")


@default_app.get("/")
@default_app.get("/<path:rest>")
def default_home(rest=""):
    known = ", ".join(sorted(USERS))
    return f"default: no such user; try one of {known}\n"
