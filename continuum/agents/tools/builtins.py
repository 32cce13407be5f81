"""The built-in tools and their settings (``tool_settings`` in ``agents.yml``).

calculator   exact arithmetic, parsed by Continuum itself
now          the current time, in UTC or an IANA time zone
scratchpad   per-conversation notes, bounded in size
http_get     HTTP GET to an allow-list of hosts, bounded in size and time
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from continuum.agents.tools.base import FunctionTool
from continuum.agents.tools.calculator import calculator_tool
from continuum.agents.tools.clock import Clock, now_tool
from continuum.agents.tools.http_get import HostRule, http_get_tool
from continuum.agents.tools.scratchpad import scratchpad_tool

BUILTIN_TOOLS = ("calculator", "now", "scratchpad", "http_get")


class HttpGetSettings(BaseModel):
    """``tool_settings.http_get``: nothing is reachable until hosts are listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_hosts: list[str] = Field(default_factory=list, max_length=1000)
    max_bytes: int = Field(default=256 * 1024, gt=0, le=16 * 1024 * 1024)
    timeout: float = Field(default=10.0, gt=0, le=300)
    max_redirects: int = Field(default=3, ge=0, le=10)

    @field_validator("allow_hosts")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        for text in value:
            HostRule.parse(text)
        return value


class ScratchpadSettings(BaseModel):
    """``tool_settings.scratchpad``: how much one conversation may note down."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_keys: int = Field(default=64, ge=1, le=10_000)
    max_key_chars: int = Field(default=128, ge=1, le=1024)
    max_value_chars: int = Field(default=4096, ge=1, le=1024 * 1024)


class ToolSettings(BaseModel):
    """Settings of the built-in tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http_get: HttpGetSettings = Field(default_factory=HttpGetSettings)
    scratchpad: ScratchpadSettings = Field(default_factory=ScratchpadSettings)


def builtin_tools(
    settings: ToolSettings | None = None, *, clock: Clock | None = None
) -> list[FunctionTool]:
    """One instance of each built-in tool, configured by ``settings``."""
    settings = settings or ToolSettings()
    http = settings.http_get
    pad = settings.scratchpad
    return [
        calculator_tool(),
        now_tool(clock),
        scratchpad_tool(
            max_keys=pad.max_keys,
            max_key_chars=pad.max_key_chars,
            max_value_chars=pad.max_value_chars,
        ),
        http_get_tool(
            http.allow_hosts,
            max_bytes=http.max_bytes,
            timeout=http.timeout,
            max_redirects=http.max_redirects,
        ),
    ]
