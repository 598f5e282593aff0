"""dispatchc: compile a routing file into a WSGI dispatcher module."""

__version__ = "0.1.0"
