"""``lint --resolve``: telling an ASGI application from a WSGI one (E405).

``PROTOCOL`` is source for the child process that ``dispatchc.tools.resolve``
imports the targets in (it runs there, with the standard library only):
``_protocol(obj)`` says what an application object is, or None when it
cannot tell. An ``async def`` function, or an object whose ``__call__`` is
one, is ASGI; a class (called, it makes an instance: PEP 3333 allows that
for WSGI, ASGI 3 does not) whose constructor takes ``(environ,
start_response)``, or a plain function or object that takes two positional
arguments and not three, is WSGI. ``wrong_protocol`` is the diagnostic for
an application marked the wrong way for the target being built.
"""

from __future__ import annotations

from typing import Any

from ...diagnostics import Diagnostic
from ...source import Span

PROTOCOL = r"""
def _protocol(obj):
    import inspect

    def binds(call, n):
        try:
            inspect.signature(call).bind(*range(n))
            return True
        except (TypeError, ValueError):
            return False

    if inspect.isclass(obj):
        return "wsgi" if binds(obj, 2) and not binds(obj, 3) else None
    if inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(type(obj).__call__):
        return "asgi"
    if binds(obj, 2) and not binds(obj, 3):
        return "wsgi"
    return None
"""

_WHAT = {
    "asgi": "an ASGI application (a coroutine function, or an object whose __call__ is one)",
    "wsgi": "a WSGI application (it takes environ, start_response)",
}


def wrong_protocol(ref: str, span: Span, found: str, target: str) -> Diagnostic:
    """E405: ``ref`` (``module:attr``, at ``span``) is a ``found``
    application, but ``target`` would call it as the other kind."""
    if target == "asgi" and found == "wsgi":
        message = f"'{ref}' is {_WHAT[found]}, but it is not marked wsgi"
        help: str | None = f"mark it: {ref} wsgi (the ASGI target serves it through a2wsgi)"
    elif target == "asgi":
        message = f"'{ref}' is {_WHAT[found]}, but it is marked wsgi"
        help = "remove the wsgi option"
    else:
        message = f"'{ref}' is {_WHAT[found]}, but the WSGI target calls it as WSGI"
        help = "build an ASGI module: dispatchc build --target asgi"
    return Diagnostic("E405", message, span, help=help)


def expected(target: str, app: Any) -> str:
    """What an application target must be when the file is built for
    ``target``: for the ASGI target, ASGI unless marked ``wsgi``; for the
    others (whose Python side is a WSGI module), WSGI."""
    if target == "asgi":
        return "wsgi" if app.wsgi else "asgi"
    return "wsgi"
