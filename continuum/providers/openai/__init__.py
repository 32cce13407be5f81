"""OpenAI and OpenAI-compatible upstreams (vLLM, llama.cpp server, LM Studio, Continuum)."""

from continuum.providers.openai.provider import OpenAIProvider

__all__ = ["OpenAIProvider"]
