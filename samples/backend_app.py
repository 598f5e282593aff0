"""The admin backend of the sample, mounted at ``/backend`` on example.com."""

from flask import Flask, request, url_for

application = Flask(__name__)


@application.get("/")
def index():
    # url_for honours SCRIPT_NAME: links point below /backend.
    return f"backend: index, users at {url_for('users')}\n"


@application.get("/users")
def users():
    return f"backend: users (SCRIPT_NAME={request.script_root!r}, PATH_INFO={request.path!r})\n"
