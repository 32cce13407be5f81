"""Ollama's native API: NDJSON chat streaming, eval counts as usage, embeddings."""

from continuum.providers.ollama.provider import OllamaProvider
from continuum.providers.spec import ProviderSpec

SPEC = ProviderSpec("ollama", OllamaProvider)

__all__ = ["SPEC", "OllamaProvider"]
