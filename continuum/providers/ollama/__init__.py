"""Ollama's native API: NDJSON chat streaming, eval counts as usage, embeddings."""

from continuum.providers.ollama.provider import OllamaProvider

__all__ = ["OllamaProvider"]
