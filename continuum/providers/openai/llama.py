"""Seed 004's generic upstream: ``LLAMA_MODELS`` served by the OpenAI-compatible server at
``LLAMA_BASE_URL`` (with ``LLAMA_API_KEY``), each under its own id."""

from __future__ import annotations

from typing import Any

from continuum.core.routes import Deployment, ModelRoute, has_credentials
from continuum.errors import ConfigError
from continuum.settings import Settings


def llama_routes(settings: Settings) -> list[ModelRoute]:
    env = settings.environ
    base_url = env.get("LLAMA_BASE_URL")
    if not base_url:
        return []
    options: dict[str, Any] = {"base_url": base_url}
    if env.get("LLAMA_API_KEY"):
        if has_credentials(base_url):
            raise ConfigError(
                "environment",
                "LLAMA_BASE_URL",
                "carries credentials (user:password@) and LLAMA_API_KEY is set too",
                "keep one of them (the upstream gets a single Authorization header)",
            )
        options["api_key"] = env["LLAMA_API_KEY"]
    models = [m.strip() for m in env.get("LLAMA_MODELS", "").split(",") if m.strip()]
    return [
        ModelRoute(model, (Deployment("openai", model, options),), owned_by="llama")
        for model in models
    ]
