"""An agent served as a model: its run as the core event stream a provider yields.

``agent/<name>`` in ``/v1/chat/completions`` (or any door) streams the agent's answer
as text deltas, then ``Finish`` and the run's total ``Usage``; the iterations are not
part of a chat answer. The rule of providers holds: a failure before the first event
raises, one after it is an ``ErrorEvent``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from continuum.agents.records import AgentDone, AgentEvent, AnswerDelta
from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, Usage

# A run cut short by its iteration limit is an answer cut short by a limit.
FINISH_REASONS = {"stop": "stop", "length": "length", "max_iterations": "length"}


async def chat_events(events: AsyncGenerator[AgentEvent, None]) -> AsyncGenerator[Event, None]:
    """Turn the stream of ``loop.stream`` into a model's stream of core events."""
    try:
        async for event in events:
            if isinstance(event, AnswerDelta):
                yield TextDelta(event.text)
            elif isinstance(event, AgentDone):
                result = event.result
                yield Finish(FINISH_REASONS.get(result.finish_reason, "stop"))
                yield Usage(result.usage.prompt_tokens, result.usage.completion_tokens)
            elif isinstance(event, ErrorEvent):
                yield event
                return
    finally:
        await events.aclose()
