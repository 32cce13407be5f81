"""What a provider declares once, in its own folder, for the registry to read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from continuum.core.routes import ModelRoute
from continuum.providers.base import Provider
from continuum.settings import Settings


def _no_routes(settings: Settings) -> list[ModelRoute]:
    return []


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider type: its ``models.yml`` name, how to build it, what it routes by itself.

    ``prefixes`` are the model-id patterns (regular expressions matched at the start)
    sent to it when prefix routing is on; ``routes`` are models its own environment
    variables expose (``LLAMA_MODELS`` for the OpenAI-compatible provider).
    """

    name: str
    build: Callable[[Settings], Provider]
    prefixes: tuple[str, ...] = ()
    routes: Callable[[Settings], list[ModelRoute]] = _no_routes
