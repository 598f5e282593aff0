"""The version, in a module of its own: nothing here imports the package."""

__version__ = "0.1.0"
