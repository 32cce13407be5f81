"""``agents.yml``: named agents, the Python modules that add tools, and tool settings.

    tool_modules: ["my_project.tools"]     # modules whose @tool functions are loaded
    tool_settings:
      http_get: {allow_hosts: ["api.example.com"]}
    agents:
      - name: "math"
        model: "local-text"                # a routed model id, or "agent/<name>"
        system_prompt: "You are a careful calculator."
        tools: ["calculator", "now"]
        max_iterations: 5
        tool_timeout: 10                   # seconds, per tool call
        rate_limit: "30/minute"            # users.yml syntax

Everything is checked at start, and each problem is a ``ConfigError`` naming the file,
the key and the fix: names, unknown tools (with the ones available), unknown models
(when the caller says which exist), and agents whose model chain comes back to them.
See ``docs/agents.md``.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from continuum.agents.agent import AGENT_PREFIX, Agent, agent_name
from continuum.agents.tools.builtins import ToolSettings, builtin_tools
from continuum.agents.tools.clock import Clock
from continuum.agents.tools.registry import ToolRegistry
from continuum.config.files import load_yaml
from continuum.core.limits import RateLimit, parse_rate_limits
from continuum.errors import ConfigError

FIX = "see docs/agents.md#agentsyml; each agent needs a name and a model"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
# /agent/message/stream (seed 003) would shadow seed 001's /agent/{name}/stream of this name.
RESERVED = frozenset({"message"})


class AgentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    model: str = Field(min_length=1, max_length=256)
    system_prompt: str | None = Field(default=None, max_length=100_000)
    tools: list[str] = Field(default_factory=list, max_length=128)
    max_iterations: int = Field(default=5, ge=1, le=100)
    tool_timeout: float = Field(default=30.0, gt=0, le=3600)
    rate_limit: tuple[RateLimit, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                f"{value!r:.80} is not an agent name: use 1-64 letters, digits, '_' or '-', "
                "starting with a letter or digit"
            )
        if value in RESERVED:
            raise ValueError(
                f"'{value}' is reserved: /agent/{value}/stream is the agent-runtime endpoint "
                "(seed 003); choose another name"
            )
        return value

    @field_validator("tools")
    @classmethod
    def _tools(cls, value: list[str]) -> list[str]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"names {', '.join(repeated)} more than once")
        return value

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _limits(cls, value: Any) -> tuple[RateLimit, ...]:
        return parse_rate_limits(value)


class AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agents: list[AgentEntry] = Field(default_factory=list)
    tool_modules: list[str] = Field(default_factory=list)
    tool_settings: ToolSettings = Field(default_factory=ToolSettings)

    @field_validator("tool_modules")
    @classmethod
    def _modules(cls, value: list[str]) -> list[str]:
        for name in value:
            if not MODULE.match(name):
                raise ValueError(f"{name!r:.80} is not a module name like 'package.module'")
        return value


@dataclass(frozen=True, slots=True)
class AgentsConfig:
    """The loaded agents by name, and the registry of every tool they could use."""

    agents: Mapping[str, Agent]
    tools: ToolRegistry
    tool_settings: ToolSettings

    def get(self, name: str) -> Agent | None:
        return self.agents.get(name)


def _registry(path: Path, file: AgentsFile, clock: Clock | None) -> ToolRegistry:
    registry = ToolRegistry(builtin_tools(file.tool_settings, clock=clock))
    for index, module in enumerate(file.tool_modules):
        key = f"tool_modules[{index}]"
        try:
            registry.load_module(module)
        except ImportError as error:
            raise ConfigError(
                str(path),
                key,
                f"cannot import '{module}' ({error})",
                "make the module importable: install it or put its folder on PYTHONPATH",
            ) from None
        except ValueError as error:
            raise ConfigError(
                str(path), key, str(error), "give every tool its own name (@tool(name=...))"
            ) from None
    return registry


def _check_tools(
    path: Path, index: int, entry: AgentEntry, file: AgentsFile, registry: ToolRegistry
) -> None:
    for t_index, name in enumerate(entry.tools):
        key = f"agents[{index}].tools[{t_index}]"
        if name not in registry:
            raise ConfigError(
                str(path),
                key,
                f"unknown tool '{name}'",
                f"use one of: {', '.join(registry.names())}; or load a module defining it "
                "with tool_modules",
            )
        if name == "http_get" and not file.tool_settings.http_get.allow_hosts:
            raise ConfigError(
                str(path),
                key,
                "http_get could reach no host: tool_settings.http_get.allow_hosts is empty",
                "list the hosts it may fetch under tool_settings.http_get.allow_hosts",
            )


def _check_models(path: Path, entries: list[AgentEntry], models: Container[str] | None) -> None:
    by_name = {entry.name: entry for entry in entries}
    for index, entry in enumerate(entries):
        if models is not None and AGENT_PREFIX + entry.name in models:
            raise ConfigError(
                str(path),
                f"agents[{index}].name",
                f"'{AGENT_PREFIX}{entry.name}' is also a model id in models.yml",
                "rename the agent or that model: agents are served as agent/<name>",
            )
        key = f"agents[{index}].model"
        target = agent_name(entry.model)
        if target is None:
            if models is not None and entry.model not in models:
                raise ConfigError(
                    str(path),
                    key,
                    f"unknown model '{entry.model}'",
                    f"use a model id from models.yml, or {AGENT_PREFIX}<name> for another agent",
                )
            continue
        chain = [entry.name]
        while target is not None:
            if target not in by_name:
                raise ConfigError(
                    str(path),
                    key,
                    f"'{AGENT_PREFIX}{target}' names no agent",
                    f"use one of: {', '.join(AGENT_PREFIX + name for name in by_name)}",
                )
            chain.append(target)
            if target in chain[:-1]:
                raise ConfigError(
                    str(path),
                    key,
                    f"the model chain of agent '{entry.name}' loops ({' -> '.join(chain)})",
                    "end every chain of agents at a model from models.yml",
                )
            target = agent_name(by_name[target].model)


def load_agents(
    path: Path, *, models: Container[str] | None = None, clock: Clock | None = None
) -> AgentsConfig:
    """Load and check ``agents.yml``.

    ``models``, when given, holds the model ids that exist (a ``RoutingTable`` will do);
    an agent naming any other raises. ``clock`` is handed to the ``now`` tool.
    """
    file = load_yaml(path, AgentsFile, FIX)
    registry = _registry(path, file, clock)
    agents: dict[str, Agent] = {}
    for index, entry in enumerate(file.agents):
        if entry.name in agents:
            raise ConfigError(
                str(path), f"agents[{index}].name", f"repeats the name '{entry.name}'", FIX
            )
        _check_tools(path, index, entry, file, registry)
        agents[entry.name] = Agent(
            name=entry.name,
            model=entry.model,
            tools={name: registry[name] for name in entry.tools},
            system_prompt=entry.system_prompt,
            max_iterations=entry.max_iterations,
            tool_timeout=entry.tool_timeout,
            rate_limit=entry.rate_limit,
        )
    _check_models(path, file.agents, models)
    return AgentsConfig(agents, registry, file.tool_settings)
