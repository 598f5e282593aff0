"""Loading the targets a routing file names."""

import importlib


def _dc_load(module, attr):
    """Import ``module`` and return its (dotted) attribute ``attr``."""
    obj = importlib.import_module(module)
    for name in attr.split("."):
        obj = getattr(obj, name)
    return obj


class _DcLazy:
    """Imports its target on first use (the ``lazy`` option)."""

    __slots__ = ("_attr", "_module", "_target")

    def __init__(self, module, attr):
        self._module = module
        self._attr = attr
        self._target = None

    def __call__(self, *args):
        target = self._target
        if target is None:
            target = self._target = _dc_load(self._module, self._attr)
        return target(*args)
