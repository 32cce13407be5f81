from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.stream import collect
from continuum.errors import UpstreamError


async def events(*items: Event) -> AsyncIterator[Event]:
    for item in items:
        yield item


async def test_fold_text_tools_choices_and_usage() -> None:
    completion = await collect(
        events(
            TextDelta("Hel"),
            TextDelta("lo", choice=1),
            TextDelta("lo"),
            ToolCallDelta(0, id="call_1", name="f", choice=1),
            ToolCallDelta(0, arguments='{"a":', choice=1),
            ToolCallDelta(0, arguments="1}", choice=1),
            Finish("stop"),
            Finish("tool_calls", 1),
            Usage(3, 4),
        )
    )
    first, second = completion.choices
    assert (first.text, first.finish_reason) == ("Hello", "stop")
    assert second.tool_calls[0].name == "f" and second.tool_calls[0].arguments == '{"a":1}'
    assert completion.usage == Usage(3, 4) and completion.usage.total_tokens == 7


async def test_error_event_raises_its_error() -> None:
    with pytest.raises(UpstreamError, match="boom"):
        await collect(events(TextDelta("x"), ErrorEvent(UpstreamError("boom"))))


async def test_empty_stream_is_one_empty_choice() -> None:
    completion = await collect(events())
    assert (
        len(completion.choices) == 1
        and completion.choices[0].text == ""
        and completion.usage is None
    )
