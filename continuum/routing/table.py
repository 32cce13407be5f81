"""The routing table: public model ids and the deployments behind them."""

from __future__ import annotations

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
        return f"{self.provider}/{self.upstream_model}"


@dataclass(frozen=True, slots=True)
class ModelRoute:
    id: str
    deployments: tuple[Deployment, ...]
    owned_by: str = "continuum"
    created: int = 0


class RoutingTable:
    """Public model ids in configuration order."""

    def __init__(self, routes: Iterable[ModelRoute]):
        self._routes: dict[str, ModelRoute] = {route.id: route for route in routes}

    def __iter__(self) -> Iterator[ModelRoute]:
        return iter(self._routes.values())

    def __contains__(self, model: object) -> bool:
        return model in self._routes

    def routes(self) -> list[ModelRoute]:
        return list(self._routes.values())

    def get(self, model: str) -> ModelRoute:
        route = self._routes.get(model)
        if route is None:
            raise ModelNotFound(f"The model '{model}' does not exist", param="model")
        return route
