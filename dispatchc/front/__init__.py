"""The front end: routing-file text -> IR (``RouteTable``) with diagnostics.

``parser`` reads the text with the grammar of ``grammar/disp.lark``,
``patterns`` checks host, path and URL patterns, ``lower`` builds the IR
and finds every semantic error.
"""
