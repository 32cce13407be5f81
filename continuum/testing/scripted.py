"""A scripted provider: each upstream model name plays a list of steps, one per call.

For testing routing and pipeline behaviour without any network: a deployment
``Deployment("scripted", "flaky")`` answers its first call with the first step of
the ``"flaky"`` script, the next call with the next step, and repeats the last.

    provider = ScriptedProvider({"flaky": [fail(UpstreamUnavailable("down")), ok("hi")]})
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, Usage
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.errors import ContinuumError


@dataclass(frozen=True, slots=True)
class Step:
    """One call's script. ``error`` may be any exception: a non-Continuum one plays a bug."""

    text: str = "ok"
    error: Exception | None = None
    error_after: int | None = None  # tokens sent before ``error`` arrives as an ErrorEvent
    first_delay: float = 0.0
    token_delay: float = 0.0


def ok(text: str = "ok", token_delay: float = 0.0) -> Step:
    return Step(text=text, token_delay=token_delay)


def fail(error: Exception) -> Step:
    return Step(error=error)


def stall(seconds: float, text: str = "late") -> Step:
    return Step(text=text, first_delay=seconds)


def break_after(tokens: int, error: Exception, text: str = "a b c d e f") -> Step:
    return Step(text=text, error=error, error_after=tokens)


@dataclass(frozen=True, slots=True)
class Call:
    model: str
    started: float


class ScriptedProvider:
    name = "scripted"

    def __init__(self, scripts: Mapping[str, Sequence[Step]]):
        self._scripts = {name: list(steps) for name, steps in scripts.items()}
        self._played: dict[str, int] = defaultdict(int)
        self.calls: list[Call] = []
        self.closed: list[float] = []

    def calls_to(self, model: str) -> int:
        return sum(1 for call in self.calls if call.model == model)

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        model = deployment.upstream_model
        script = self._scripts[model]
        step = script[min(self._played[model], len(script) - 1)]
        self._played[model] += 1
        self.calls.append(Call(model, time.monotonic()))
        try:
            if step.first_delay:
                await asyncio.sleep(step.first_delay)
            if step.error is not None and step.error_after is None:
                raise step.error
            words = step.text.split(" ")
            for index, word in enumerate(words):
                if step.error is not None and index == step.error_after:
                    if not isinstance(step.error, ContinuumError):
                        raise step.error  # a bug in the middle of a stream
                    yield ErrorEvent(step.error)
                    return
                if index and step.token_delay:
                    await asyncio.sleep(step.token_delay)
                yield TextDelta(word if index == 0 else " " + word)
            yield Finish("stop")
            yield Usage(1, len(words))
        finally:
            self.closed.append(time.monotonic())

    async def aclose(self) -> None:
        return None
