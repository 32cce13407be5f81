"""Provider types by the name ``models.yml`` uses. Adding a provider adds one line here."""

from __future__ import annotations

from collections.abc import Iterable

from continuum.core.routes import ModelRoute
from continuum.providers import agent_runtime, anthropic, local, minilm, ollama, openai
from continuum.providers.base import Provider
from continuum.providers.spec import ProviderSpec
from continuum.routing.table import PrefixRule
from continuum.settings import Settings

BUILTIN: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        local.SPEC,
        openai.SPEC,
        ollama.SPEC,
        anthropic.SPEC,
        minilm.SPEC,
        agent_runtime.SPEC,
    )
}


def build(names: Iterable[str], settings: Settings) -> dict[str, Provider]:
    """One instance (one pooled client) per provider type that the routes use."""
    return {name: BUILTIN[name].build(settings) for name in sorted(set(names))}


def prefix_rules() -> list[PrefixRule]:
    """Every provider's model-id prefixes, for prefix routing."""
    return [PrefixRule(p, spec.name) for spec in BUILTIN.values() for p in spec.prefixes]


def env_routes(settings: Settings) -> list[ModelRoute]:
    """Models the providers' own environment variables expose."""
    return [route for spec in BUILTIN.values() for route in spec.routes(settings)]
