"""The public site of the sample (SPEC §1: ``/`` on example.com)."""

from flask import Flask, request

application = Flask(__name__)


@application.get("/")
def index():
    return f"frontend: index (SCRIPT_NAME={request.script_root!r})\n"


@application.get("/<path:page>")
def page(page):
    return f"frontend: page {page}\n"
