"""Anthropic's Messages API: system prompts, roles, tools and stop reasons translated."""

from continuum.providers.anthropic.provider import AnthropicProvider
from continuum.providers.spec import ProviderSpec

SPEC = ProviderSpec("anthropic", AnthropicProvider, prefixes=(r"claude-",))

__all__ = ["SPEC", "AnthropicProvider"]
