"""A scripted model for loop tests: each call plays the next turn of a script."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.types import ChatRequest
from continuum.errors import ContinuumError


@dataclass
class Turn:
    """What one model call does. ``gate``: wait for it after the first event."""

    events: list[Event]
    raise_first: ContinuumError | None = None
    gate: asyncio.Event | None = None


def says(text: str, usage: tuple[int, int] = (10, 5), finish: str = "stop") -> Turn:
    return Turn([*(TextDelta(word) for word in _words(text)), Finish(finish), Usage(*usage)])


def asks(
    *calls: tuple[str, str], text: str = "", usage: tuple[int, int] = (20, 8), ids: bool = True
) -> Turn:
    """A turn calling tools: (name, arguments) pairs, arguments split across two deltas."""
    events: list[Event] = [TextDelta(word) for word in _words(text)]
    for index, (name, arguments) in enumerate(calls):
        half = len(arguments) // 2
        events.append(ToolCallDelta(index, id=f"call_{index}" if ids else None, name=name))
        events.append(ToolCallDelta(index, arguments=arguments[:half]))
        events.append(ToolCallDelta(index, arguments=arguments[half:]))
    events += [Finish("tool_calls"), Usage(*usage)]
    return Turn(events)


def fails(error: ContinuumError, after: Sequence[Event] = ()) -> Turn:
    if after:
        return Turn([*after, ErrorEvent(error)])
    return Turn([], raise_first=error)


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)] if text else []


@dataclass
class Script:
    """A ModelCall playing ``turns`` in order (the last one again when they run out)."""

    turns: list[Turn]
    requests: list[ChatRequest] = field(default_factory=list)
    closed: int = 0

    def __call__(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        self.requests.append(request)
        turn = self.turns[min(len(self.requests), len(self.turns)) - 1]
        return self._play(turn)

    async def _play(self, turn: Turn) -> AsyncGenerator[Event, None]:
        try:
            if turn.raise_first is not None:
                raise turn.raise_first
            for number, event in enumerate(turn.events):
                yield event
                if number == 0 and turn.gate is not None:
                    await turn.gate.wait()
        finally:
            self.closed += 1
