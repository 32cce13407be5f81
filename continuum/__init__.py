"""Continuum: one server that puts many AI providers behind standard interfaces."""

__version__ = "0.1.0"
