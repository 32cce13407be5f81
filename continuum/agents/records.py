"""What an agent run produces: iteration records, the result, and the events of its stream.

``AgentResult.to_dict()`` is seed 001's shape::

    {"prompt": …, "response": …, "iterations": [ …Iteration.to_dict()… ],
     "usage": {"prompt_tokens": …, "completion_tokens": …, "total_tokens": …},
     "finish_reason": "stop" | "length" | "max_iterations"}

The stream of a run (``loop.stream``) is ``AnswerDelta`` pieces of the answer as the
model writes them, an ``IterationDone`` as each step completes, and one ``AgentDone``
with the whole result; or, when a model call fails after the stream has begun, a core
``ErrorEvent`` as its last event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from continuum.core.events import ErrorEvent, Usage


def usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One call the model asked for: its arguments (the JSON text the model wrote) and
    either the tool's ``result`` or an ``error`` (which the model was shown instead)."""

    id: str
    name: str
    arguments: str
    result: str | None = None
    error: str | None = None

    @property
    def content(self) -> str:
        """What the model reads back as the tool's answer."""
        if self.error is not None or self.result is None:
            return f"Error: {self.error}"
        return self.result

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "result": self.result,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Iteration:
    """One model call of a run and the tool calls it asked for. ``index`` counts from 1."""

    index: int
    output: str
    tool_calls: tuple[ToolCallRecord, ...]
    usage: Usage
    finish_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "output": self.output,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "finish_reason": self.finish_reason,
            "usage": usage_dict(self.usage),
        }


@dataclass(frozen=True, slots=True)
class AgentResult:
    """A finished run. ``usage`` is the total of every model call of the run.

    ``finish_reason`` is the model's own (``stop``, ``length``) when it answered, or
    ``max_iterations`` when the run stopped at its limit; ``response`` then says so.
    """

    agent: str
    prompt: str
    response: str
    iterations: tuple[Iteration, ...]
    usage: Usage
    finish_reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "response": self.response,
            "iterations": [iteration.to_dict() for iteration in self.iterations],
            "usage": usage_dict(self.usage),
            "finish_reason": self.finish_reason,
        }


# Stream events: mutable-looking slotted dataclasses like the core events (cheaper to build).
@dataclass(slots=True)
class AnswerDelta:
    """A piece of the answer, as the model writes it. The pieces join to the response."""

    text: str


@dataclass(slots=True)
class IterationDone:
    """An iteration has completed (its tool calls run, their results known)."""

    iteration: Iteration


@dataclass(slots=True)
class AgentDone:
    """The run has finished; always the last event of a run that did not fail."""

    result: AgentResult


AgentEvent: TypeAlias = AnswerDelta | IterationDone | AgentDone | ErrorEvent
