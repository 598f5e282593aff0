"""The WSGI target's run-time pieces (see ``dispatchc.targets.python.runtime``)."""
