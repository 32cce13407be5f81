"""The routing table: public model ids and the deployments behind them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from continuum.errors import ModelNotFound


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a model can run: a provider, the name it knows the model by, its options."""

    provider: str
    upstream_model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def name(self) -> str:
        """Unique per upstream: the same model on two servers is two deployments."""
        base_url = self.options.get("base_url")
        where = f"@{base_url}" if base_url else ""
        return f"{self.provider}/{self.upstream_model}{where}"


@dataclass(frozen=True, slots=True)
class ModelRoute:
    id: str
    deployments: tuple[Deployment, ...]
    owned_by: str = "continuum"
    created: int = 0
    timeout: float | None = None  # the whole request, retries and fallbacks included
    retries: int | None = None  # extra attempts per deployment; None: the router's default


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """Routes a model id unknown to the table to ``provider`` when it matches ``pattern``."""

    pattern: str
    provider: str

    def matches(self, model: str) -> bool:
        return re.match(self.pattern, model) is not None


# Off unless enabled (CONTINUUM_PREFIX_ROUTING): a typo should not reach a paid provider.
PREFIX_RULES = (
    PrefixRule(r"claude-", "anthropic"),
    PrefixRule(r"(gpt-|chatgpt-|text-embedding-)", "openai"),
    PrefixRule(r"o[0-9]", "openai"),
)


class RoutingTable:
    """Public model ids in configuration order, plus optional prefix rules for the rest."""

    def __init__(self, routes: Iterable[ModelRoute], prefix_rules: Iterable[PrefixRule] = ()):
        self._routes: dict[str, ModelRoute] = {route.id: route for route in routes}
        self.prefix_rules = tuple(prefix_rules)

    def __iter__(self) -> Iterator[ModelRoute]:
        return iter(self._routes.values())

    def __contains__(self, model: object) -> bool:
        return model in self._routes

    def routes(self) -> list[ModelRoute]:
        return list(self._routes.values())

    def get(self, model: str) -> ModelRoute:
        route = self._routes.get(model)
        if route is not None:
            return route
        for rule in self.prefix_rules:
            if rule.matches(model):
                return ModelRoute(
                    model, (Deployment(rule.provider, model),), owned_by=rule.provider
                )
        raise ModelNotFound(f"The model '{model}' does not exist", param="model")
        return route
