"""Anthropic's Messages API: system prompts, roles, tools and stop reasons translated."""

from continuum.providers.anthropic.provider import AnthropicProvider

__all__ = ["AnthropicProvider"]
