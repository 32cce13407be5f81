"""The prompt API's answers: ``{"response", "usage"}``, and the stream's chunk and complete
messages (one WebSocket message, or one SSE ``data:`` event, each).

    {"type": "chunk", "content": "part of the answer"}
    {"type": "complete", "result": {"response": "...", "usage": {...}}}
    {"type": "error", "error": "what went wrong", "code": "rate_limit_exceeded", ...}
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.agents.records import AgentDone, AgentEvent, AnswerDelta
from continuum.core.events import Event, TextDelta, Usage
from continuum.core.stream import Completion
from continuum.dialects.simple.errors import stream_error_json
from continuum.errors import ContinuumError

_CHUNK = b'{"type":"chunk","content":'


def usage_object(usage: Usage | None) -> dict[str, int]:
    """Seed 001's usage, in its order."""
    prompt, completion = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
    return {
        "total_tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
    }


def answer_object(response: str, usage: Usage | None) -> dict[str, Any]:
    return {"response": response, "usage": usage_object(usage)}


def completion_answer(completion: Completion) -> dict[str, Any]:
    """A folded model answer (its first choice) as ``{"response", "usage"}``."""
    return answer_object(completion.choices[0].text, completion.usage)


def chunk(text: str) -> bytes:
    return _CHUNK + orjson.dumps(text) + b"}"


def complete(result: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "complete", "result": result})


class PromptEncoder:
    """A model's events as chunk messages, ended by the complete message (an ``Encoder``).

    It keeps the answer's text for the complete message, which repeats it whole.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._usage: Usage | None = None

    def encode(self, event: Event) -> bytes | None:
        if isinstance(event, TextDelta):
            if event.choice != 0 or not event.text:
                return None
            self._parts.append(event.text)
            return chunk(event.text)
        if isinstance(event, Usage):
            self._usage = event
        return None  # tool calls and finish reasons are not part of this API

    def error(self, error: ContinuumError) -> bytes:
        return stream_error_json(error)

    def end(self) -> bytes:
        return complete(answer_object("".join(self._parts), self._usage))


class AgentEncoder:
    """An agent run's events as chunk messages, ended by the complete message whose result
    is the run's ``{"prompt", "response", "iterations", "usage", ...}``."""

    def __init__(self) -> None:
        self._result: dict[str, Any] | None = None

    def encode(self, event: AgentEvent) -> bytes | None:
        if isinstance(event, AnswerDelta):
            return chunk(event.text) if event.text else None
        if isinstance(event, AgentDone):
            self._result = event.result.to_dict()
        return None

    def error(self, error: ContinuumError) -> bytes:
        return stream_error_json(error)

    def end(self) -> bytes | None:
        return None if self._result is None else complete(self._result)
