"""The built-in deterministic local models: nothing external is needed to run Continuum."""

from continuum.providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]
