"""Folding an event stream into a complete answer (the non-streaming form of every door)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.types import ToolCall


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Choice:
    index: int
    text_parts: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish_reason: str | None = None
    stop_sequence: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(id=c.id, name=c.name, arguments="".join(c.arguments))
            for _, c in sorted(self.calls.items())
        ]


@dataclass(slots=True)
class Completion:
    choices: list[Choice]
    usage: Usage | None


class Aggregator:
    """Accumulates events; ``add`` may be fed from a live stream one event at a time."""

    def __init__(self) -> None:
        self._choices: dict[int, Choice] = {}
        self.usage: Usage | None = None

    def _choice(self, index: int) -> Choice:
        choice = self._choices.get(index)
        if choice is None:
            choice = self._choices[index] = Choice(index)
        return choice

    def add(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._choice(event.choice).text_parts.append(event.text)
        elif isinstance(event, ToolCallDelta):
            call = self._choice(event.choice).calls.setdefault(event.index, _PartialCall())
            if event.id:
                call.id = event.id
            if event.name:
                call.name += event.name
            call.arguments.append(event.arguments)
        elif isinstance(event, Finish):
            choice = self._choice(event.choice)
            choice.finish_reason = event.reason
            choice.stop_sequence = event.stop_sequence
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, ErrorEvent):
            raise event.error

    def result(self) -> Completion:
        if not self._choices:
            self._choice(0)
        return Completion([self._choices[i] for i in sorted(self._choices)], self.usage)


async def collect(events: AsyncIterator[Event]) -> Completion:
    """Run a stream to its end and fold it. An ``ErrorEvent`` is raised as its error."""
    aggregator = Aggregator()
    try:
        async for event in events:
            aggregator.add(event)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    return aggregator.result()
