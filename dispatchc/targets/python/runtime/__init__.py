"""Run-time pieces every Python target shares, whatever the protocol.

Each generated module gets a copy of the top-level definitions it uses
(``dispatchc.targets.python.select``), so these modules are the source of
that code: plain Python, imported and unit-tested like any other. Names
are ``_dc_``/``_Dc``/``_DC_`` so that they never meet a user's.
"""
