"""The routing table: public model ids and the deployments behind them (``core.routes``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from continuum.core.routes import Deployment, ModelRoute
from continuum.errors import ModelNotFound


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """Routes a model id unknown to the table to ``provider`` when it matches ``pattern``.

    Off unless enabled (CONTINUUM_PREFIX_ROUTING): a typo should not reach a paid provider.
    Each provider declares its own patterns (``ProviderSpec.prefixes``).
    """

    pattern: str
    provider: str

    def matches(self, model: str) -> bool:
        return re.match(self.pattern, model) is not None


class RoutingTable:
    """Public model ids in configuration order, plus optional prefix rules for the rest.

    Implements the ``Routes`` protocol of ``core/ports.py``.
    """

    def __init__(self, routes: Iterable[ModelRoute], prefix_rules: Iterable[PrefixRule] = ()):
        self._routes: dict[str, ModelRoute] = {route.id: route for route in routes}
        self.prefix_rules = tuple(prefix_rules)

    def __iter__(self) -> Iterator[ModelRoute]:
        return iter(self._routes.values())

    def __contains__(self, model: object) -> bool:
        return model in self._routes

    def add(self, route: ModelRoute) -> None:
        """Add a route made after the table (the agents, which need the table to be checked)."""
        if route.id in self._routes:
            raise ValueError(f"the model id '{route.id}' is already routed")
        self._routes[route.id] = route

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
