"""``models.yml``: public model ids and the deployments behind them.

Seed 000's form (``- id: "llama3:latest"`` / ``provider: "ollama"``) is one inline
deployment whose upstream name is the id. See ``docs/configuration.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from continuum.config.files import load_yaml
from continuum.core.routes import Deployment, ModelRoute, has_credentials
from continuum.errors import ConfigError

FIX = "see docs/configuration.md#modelsyml; each model needs an id and a provider or deployments"


_ROUTE_KEYS = ("id", "owned_by", "request_timeout", "retries", "deployments")


class DeploymentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1)
    upstream_model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    weight: float = Field(default=1.0, gt=0, le=1_000_000)
    timeout: float | None = Field(default=None, gt=0, le=3600)
    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    first_token_timeout: float | None = Field(default=None, gt=0, le=3600)
    max_tokens: int | None = Field(default=None, gt=0, le=1_000_000)
    token_delay: float | None = Field(default=None, ge=0, le=10)

    @model_validator(mode="after")
    def _one_credential(self) -> DeploymentEntry:
        # An upstream gets one Authorization header: Basic from the URL, or the key.
        if self.base_url and has_credentials(self.base_url) and (self.api_key or self.api_key_env):
            raise ValueError(
                "base_url carries credentials (user:password@) and an api_key is set too; "
                "keep one of them (the upstream gets a single Authorization header)"
            )
        return self

    def deployment(self, model_id: str) -> Deployment:
        options = self.model_dump(
            exclude={"provider", "upstream_model", "weight"}, exclude_none=True
        )
        return Deployment(
            provider=self.provider,
            upstream_model=self.upstream_model or model_id,
            options=options,
            weight=self.weight,
        )


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    owned_by: str | None = None
    request_timeout: float | None = Field(default=None, gt=0, le=3600)
    retries: int | None = Field(default=None, ge=0, le=10)
    deployments: list[DeploymentEntry] | None = None

    @model_validator(mode="before")
    @classmethod
    def _inline(cls, data: Any) -> Any:
        # An entry either names one deployment inline or lists several; not both.
        if not isinstance(data, dict):
            return data
        inline = {k: v for k, v in data.items() if k not in _ROUTE_KEYS}
        if inline and data.get("deployments") is not None:
            raise ValueError("give either provider (inline) or deployments, not both")
        if inline:
            named = {k: v for k, v in data.items() if k in _ROUTE_KEYS}
            return {**named, "deployments": [inline]}
        if not data.get("deployments"):
            raise ValueError("needs a provider (or a deployments list)")
        return data

    def route(self) -> ModelRoute:
        deployments = tuple(entry.deployment(self.id) for entry in self.deployments or ())
        owner = self.owned_by or deployments[0].provider
        return ModelRoute(
            id=self.id,
            deployments=deployments,
            owned_by=owner,
            timeout=self.request_timeout,
            retries=self.retries,
        )


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_model: str | None = Field(default=None, min_length=1, max_length=256)
    models: list[ModelEntry] = Field(default_factory=list)


def load_models(path: Path, providers: Iterable[str]) -> list[ModelRoute]:
    known = set(providers)
    entries = load_yaml(path, ModelsFile, FIX).models
    routes: dict[str, ModelRoute] = {}
    for index, entry in enumerate(entries):
        if entry.id in routes:
            raise ConfigError(str(path), f"models[{index}].id", f"repeats the id '{entry.id}'", FIX)
        for d_index, deployment in enumerate(entry.deployments or ()):
            if deployment.provider not in known:
                key = f"models[{index}].deployments[{d_index}].provider"
                raise ConfigError(
                    str(path),
                    key,
                    f"unknown provider '{deployment.provider}'",
                    f"use one of: {', '.join(sorted(known))}",
                )
        routes[entry.id] = entry.route()
    return list(routes.values())


def load_default_model(path: Path) -> str | None:
    """``default_model`` of ``models.yml``: the model of seed 001's ``/model`` (checked
    against the routing table by the caller, which knows every model)."""
    return load_yaml(path, ModelsFile, FIX).default_model


def default_routes() -> list[ModelRoute]:
    """The embedded default: the local models (two chat, one embedding) under public names."""
    return [
        ModelRoute("local-echo", (Deployment("local", "echo"),), owned_by="continuum"),
        ModelRoute("local-text", (Deployment("local", "text"),), owned_by="continuum"),
        ModelRoute("local-embed", (Deployment("local", "embed"),), owned_by="continuum"),
    ]
