"""An agent: a model, a system prompt and the tools it may call, with its limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from continuum.agents.tools.base import FunctionTool
from continuum.core.limits import RateLimit

AGENT_PREFIX = "agent/"
"""Agents are also models: ``agent/<name>`` in a request's ``model`` or in permissions."""

DEFAULT_MAX_ITERATIONS = 5
DEFAULT_TOOL_TIMEOUT = 30.0


def agent_model_id(name: str) -> str:
    """The model id under which agent ``name`` is served: ``agent/<name>``."""
    return AGENT_PREFIX + name


def agent_name(model: str) -> str | None:
    """The agent a model id names (``agent/math`` -> ``math``), or None for a plain model."""
    return model[len(AGENT_PREFIX) :] if model.startswith(AGENT_PREFIX) else None


@dataclass(frozen=True, slots=True)
class Agent:
    """One configured agent, its tools resolved.

    ``model`` is the model its loop calls: a routed model id or ``agent/<name>``.
    ``max_iterations`` bounds the model calls of one run; ``tool_timeout`` (seconds)
    bounds each tool call; ``rate_limit`` is the agent's own limits, for the caller
    that serves it to enforce.
    """

    name: str
    model: str
    tools: Mapping[str, FunctionTool] = field(default_factory=dict)
    system_prompt: str | None = None
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT
    rate_limit: tuple[RateLimit, ...] = ()

    @property
    def model_id(self) -> str:
        """The id this agent is served under as a model."""
        return agent_model_id(self.name)
