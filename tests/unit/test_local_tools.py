"""The local models use tools deterministically: which tools, which arguments, which answer."""

from __future__ import annotations

import orjson
import pytest

from continuum.core.events import Finish, ToolCallDelta
from continuum.core.routes import Deployment
from continuum.core.stream import collect
from continuum.core.types import ChatRequest, Message, Tool, ToolCall
from continuum.providers.local import LocalProvider
from continuum.providers.local.tool_use import arithmetic_in

TEXT = Deployment("local", "text")

CALCULATOR = Tool(
    "calculator",
    "Compute arithmetic",
    {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
NOW = Tool(
    "now",
    "The time",
    {
        "type": "object",
        "properties": {"timezone": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        "required": [],
    },
)
PAD = Tool(
    "scratchpad",
    "Notes",
    {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["set", "get", "list"]},
            "key": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "value": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "count": {"type": "integer"},
            "exact": {"type": "boolean"},
        },
        "required": ["action"],
    },
)


def ask(prompt: str, *tools: Tool, **options: object) -> ChatRequest:
    return ChatRequest(
        "m", (Message("user", prompt),), tools=tools, request_id="chatcmpl-x1", **options
    )  # type: ignore[arg-type]


async def calls_for(request: ChatRequest) -> list[ToolCall]:
    completion = await collect(LocalProvider().stream_chat(request, TEXT))
    choice = completion.choices[0]
    assert choice.finish_reason == ("tool_calls" if choice.tool_calls else "stop")
    return choice.tool_calls


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("what is 12*(3+4)?", "12*(3+4)"),
        ("What is 12 * (3 + 4)?", "12 * (3 + 4)"),
        ("compute (2+3) please.", "(2+3)"),
        ("(what is 2+3)", "2+3"),
        ("2**10 - 1.", "2**10 - 1"),
        ("is -3 + 5 positive", "-3 + 5"),
        ("7 // 2 and 1+1", "7 // 2"),
        ("I have 3 cats", None),
        ("the year 2025.", None),
        ("(12)", None),
    ],
)
def test_arithmetic_is_found_in_prose(text: str, expression: str | None) -> None:
    assert arithmetic_in(text) == expression


async def test_arithmetic_calls_the_calculator_with_the_expression() -> None:
    calls = await calls_for(ask("what is 12*(3+4)?", NOW, CALCULATOR))
    assert [(c.name, c.arguments) for c in calls] == [("calculator", '{"expression":"12*(3+4)"}')]


async def test_a_tool_with_calc_in_its_name_counts_as_a_calculator() -> None:
    calc = Tool("calc", None, {"type": "object", "properties": {"input": {"type": "string"}}})
    calls = await calls_for(ask("2+2?", calc))
    assert calls[0].arguments == '{"input":"2+2"}'


async def test_no_call_without_a_reason() -> None:
    assert await calls_for(ask("hello there", CALCULATOR, NOW)) == []
    assert await calls_for(ask("I know it is snowing", NOW)) == []  # "now" only as a word
    assert await calls_for(ask("what is 2+2?", NOW)) == []  # no calculator offered
    assert await calls_for(ask("now, 2+2", CALCULATOR, NOW, tool_choice="none")) == []


async def test_named_tools_are_called_together_in_the_order_named() -> None:
    calls = await calls_for(
        ask("Use now and the calculator for 2**10, timezone Asia/Tokyo", CALCULATOR, NOW)
    )
    assert [c.name for c in calls] == ["now", "calculator"]
    assert orjson.loads(calls[0].arguments) == {"timezone": "Asia/Tokyo"}
    assert orjson.loads(calls[1].arguments) == {"expression": "2**10"}
    assert len({c.id for c in calls}) == 2


async def test_arguments_from_name_value_pairs_enums_and_types() -> None:
    calls = await calls_for(
        ask('scratchpad action=set key=colour value="deep blue" count=3 exact=false.', PAD)
    )
    assert orjson.loads(calls[0].arguments) == {
        "action": "set",
        "key": "colour",
        "value": "deep blue",
        "count": 3,
        "exact": False,
    }
    # Only the required property is filled when nothing else is given; the enum value
    # the message mentions is chosen.
    listing = await calls_for(ask("list the scratchpad", PAD))
    assert orjson.loads(listing[0].arguments) == {"action": "list"}
    plain = await calls_for(ask("what time is it now?", NOW))
    assert orjson.loads(plain[0].arguments) == {}


async def test_tool_choice_still_rules() -> None:
    forced = await calls_for(
        ask("hello", CALCULATOR, NOW, tool_choice={"type": "function", "function": {"name": "now"}})
    )
    assert [c.name for c in forced] == ["now"]
    required = await calls_for(ask("hello", NOW, CALCULATOR, tool_choice="required"))
    assert [c.name for c in required] == ["now"]


def after(results: list[tuple[ToolCall, str]], *tools: Tool) -> ChatRequest:
    messages = [
        Message("user", "question"),
        Message("assistant", None, tool_calls=tuple(call for call, _ in results)),
        *(Message("tool", text, tool_call_id=call.id) for call, text in results),
    ]
    return ChatRequest("m", tuple(messages), tools=tools)


async def answer(request: ChatRequest) -> str:
    events = [e async for e in LocalProvider().stream_chat(request, TEXT)]
    assert not any(isinstance(e, ToolCallDelta) for e in events)
    assert Finish("stop") in events
    return (await collect(LocalProvider().stream_chat(request, TEXT))).choices[0].text


async def test_answers_from_the_results() -> None:
    sum_call = ToolCall("c1", "calculator", '{"expression": "12*(3+4)"}')
    assert await answer(after([(sum_call, "84")], CALCULATOR)) == "12*(3+4) = 84"
    assert await answer(after([(sum_call, "Error: division by zero")], CALCULATOR)) == (
        "The tool returned: Error: division by zero"
    )
    time_call = ToolCall("c2", "now", "{}")
    both = await answer(after([(sum_call, "84"), (time_call, '{"iso": "2025"}')], CALCULATOR, NOW))
    assert both == '12*(3+4) = 84\nnow returned: {"iso": "2025"}'
    stray = ChatRequest(
        "m", (Message("user", "q"), Message("tool", "42", tool_call_id="zz")), tools=(NOW,)
    )
    assert await answer(stray) == "The tool returned: 42"
