"""What the Python targets (WSGI, ASGI) share: the run time (``runtime/``),
the copying of its definitions (``select``) and the naming and tables of
generated modules (``emit``)."""
