"""App factory of the tenants sample: one tiny WSGI app per (tenant, region).

``make_app`` returns None for a region that does not exist, so the request
falls back to the next matching route; with none left it gets 404.
"""

REGIONS = ("eu", "us")


def make_app(tenant, region):
    if region not in REGIONS:
        return None

    def app(environ, start_response):
        body = (
            f"{tenant} in {region}: {environ.get('SCRIPT_NAME', '')!r} "
            f"{environ.get('PATH_INFO', '')!r}\n"
        ).encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app
