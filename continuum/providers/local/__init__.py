"""The built-in deterministic local models: nothing external is needed to run Continuum."""

from continuum.providers.local.provider import LocalProvider
from continuum.providers.spec import ProviderSpec

SPEC = ProviderSpec("local", lambda settings: LocalProvider())

__all__ = ["SPEC", "LocalProvider"]
