"""dispatchc: compile a routing file into a WSGI dispatcher module.

A routing file says which host and which path go to which application::

    use frontend = frontend_app:application

    host {tenant}.example.com {
        / -> tenants:make_app(tenant)
    }

    /         -> frontend
    /backend  -> backend_app:application

``dispatchc build routes.disp`` writes ``routes.py``, a plain module that
imports only the standard library and your applications and exposes
``application``. From Python::

    from pathlib import Path
    from dispatchc import DispatchError, compile_file

    try:
        source = compile_file(Path("routes.disp"), Path("routes.py"))
    except DispatchError as exc:
        print(exc.render())  # every error, with file:line:col and a caret

``analyse`` returns the IR (``RouteTable``) and every diagnostic without
raising, which is what ``dispatchc lint`` uses. See docs/ for the language,
the diagnostics and the generated code.
"""

from ._version import __version__ as __version__
from .compiler import Result as Result  # noqa: E402
from .compiler import analyse as analyse  # noqa: E402
from .compiler import compile_file as compile_file  # noqa: E402
from .diagnostics import Diagnostic as Diagnostic  # noqa: E402
from .errors import DispatchError as DispatchError  # noqa: E402
from .ir import RouteTable as RouteTable  # noqa: E402
