"""The stream every provider yields. Non-streaming answers are a fold of it (see ``stream``).

``choice`` is the index of the answer when a request asks for ``n`` > 1.

Events are treated as immutable but not declared ``frozen``: a frozen dataclass
costs 2.6x as much to build (221 ns against 84 ns for a ``TextDelta``), and one is
built for every relayed token (see docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from continuum.errors import ContinuumError


@dataclass(slots=True)
class TextDelta:
    text: str
    choice: int = 0


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a tool call. ``id`` and ``name`` come with the first piece of call ``index``."""

    index: int
    arguments: str = ""
    id: str | None = None
    name: str | None = None
    choice: int = 0


@dataclass(slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Finish:
    """The end of one choice: ``stop``, ``length``, ``tool_calls`` or ``content_filter``.

    ``stop_sequence`` names the client's stop sequence that ended a ``stop``, when the
    provider knows it (the Anthropic door reports it; OpenAI's API does not say).
    """

    reason: str
    choice: int = 0
    stop_sequence: str | None = None


@dataclass(slots=True)
class ErrorEvent:
    """A failure after the first event was sent: the stream ends with it instead of truncating."""

    error: ContinuumError


Event: TypeAlias = TextDelta | ToolCallDelta | Usage | Finish | ErrorEvent
