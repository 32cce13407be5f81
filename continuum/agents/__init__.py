"""Agents: a model, a system prompt and tools, run in a loop until the model answers.

    config = load_agents(Path("agents.yml"), models=routing_table)
    result = await run(config.agents["math"], "what is 12*(3+4)?", call_model)
    async for event in stream(agent, prompt, call_model): ...
    await gateway.agents.run(ctx, "math", prompt)      # in the gateway (AgentService)

See docs/agents.md.
"""

from continuum.agents.agent import AGENT_PREFIX, Agent, agent_model_id, agent_name
from continuum.agents.chat import chat_events
from continuum.agents.config import AgentsConfig, load_agents
from continuum.agents.loop import ModelCall, run, stream
from continuum.agents.records import (
    AgentDone,
    AgentEvent,
    AgentResult,
    AnswerDelta,
    Iteration,
    IterationDone,
    ToolCallRecord,
)
from continuum.agents.service import AgentService
from continuum.agents.tools import FunctionTool, ToolContext, ToolError, ToolRegistry, tool

__all__ = [
    "AGENT_PREFIX",
    "Agent",
    "AgentDone",
    "AgentEvent",
    "AgentResult",
    "AgentService",
    "AgentsConfig",
    "AnswerDelta",
    "FunctionTool",
    "Iteration",
    "IterationDone",
    "ModelCall",
    "ToolCallRecord",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "agent_model_id",
    "agent_name",
    "chat_events",
    "load_agents",
    "run",
    "stream",
    "tool",
]
