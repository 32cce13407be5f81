"""OpenAI and OpenAI-compatible upstreams (vLLM, llama.cpp server, LM Studio, Continuum)."""

from continuum.providers.openai.llama import llama_routes
from continuum.providers.openai.provider import OpenAIProvider
from continuum.providers.spec import ProviderSpec

SPEC = ProviderSpec(
    "openai",
    OpenAIProvider,
    prefixes=(r"(gpt-|chatgpt-|text-embedding-)", r"o[0-9]"),
    routes=llama_routes,
)

__all__ = ["SPEC", "OpenAIProvider"]
