"""Provider types by the name ``models.yml`` uses. Adding a provider adds one line here."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from continuum.providers.anthropic import AnthropicProvider
from continuum.providers.base import Provider
from continuum.providers.local import LocalProvider
from continuum.providers.ollama import OllamaProvider
from continuum.providers.openai import OpenAIProvider
from continuum.settings import Settings

ProviderFactory = Callable[[Settings], Provider]

BUILTIN: dict[str, ProviderFactory] = {
    "local": lambda settings: LocalProvider(),
    "openai": OpenAIProvider,
    "ollama": OllamaProvider,
    "anthropic": AnthropicProvider,
}


def build(names: Iterable[str], settings: Settings) -> dict[str, Provider]:
    """One instance (one pooled client) per provider type that the routes use."""
    return {name: BUILTIN[name](settings) for name in sorted(set(names))}
