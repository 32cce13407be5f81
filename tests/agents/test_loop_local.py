"""The agent loop on the local models: agents that run with no external provider at all."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import orjson

from continuum.agents.agent import Agent
from continuum.agents.loop import ModelCall, run, stream
from continuum.agents.records import AgentDone, AnswerDelta, IterationDone
from continuum.agents.tools import builtin_tools
from continuum.core.events import Event, Usage
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.providers.local import LocalProvider, tokens

PROVIDER = LocalProvider()
FIXED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TOOLS = {t.name: t for t in builtin_tools(clock=lambda: FIXED)}


def local(model: str = "text") -> tuple[list[ChatRequest], ModelCall]:
    seen: list[ChatRequest] = []

    def call(request: ChatRequest) -> AsyncGenerator[Event, None]:
        seen.append(request)
        return PROVIDER.stream_chat(request, Deployment("local", model))

    return seen, call


def math_agent(*names: str, **options: object) -> Agent:
    return Agent(
        name="math",
        model="local-text",
        tools={name: TOOLS[name] for name in names or ("calculator", "now")},
        system_prompt="You are a careful calculator.",
        **options,  # type: ignore[arg-type]
    )


async def test_arithmetic_goes_through_the_calculator() -> None:
    seen, call = local()
    result = await run(math_agent(), "what is 12*(3+4)?", call)
    assert result.response == "12*(3+4) = 84"
    first, second = result.iterations
    assert [(c.name, c.arguments, c.result) for c in first.tool_calls] == [
        ("calculator", '{"expression":"12*(3+4)"}', "84")
    ]
    assert second.output == "12*(3+4) = 84" and second.tool_calls == ()
    # Usage is each call's honest count, and the total is their sum.
    assert first.usage == Usage(tokens.prompt_tokens(seen[0]), first.usage.completion_tokens)
    assert second.usage == Usage(tokens.prompt_tokens(seen[1]), tokens.count("12*(3+4) = 84"))
    assert result.usage == Usage(
        first.usage.prompt_tokens + second.usage.prompt_tokens,
        first.usage.completion_tokens + second.usage.completion_tokens,
    )


async def test_two_named_tools_are_called_in_one_turn() -> None:
    _, call = local("echo")
    prompt = "Use the calculator and now: 2**10 - 1, timezone Europe/Rome"
    result = await run(math_agent(), prompt, call)
    calls = result.iterations[0].tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("calculator", '{"expression":"2**10 - 1"}'),
        ("now", '{"timezone":"Europe/Rome"}'),
    ]
    assert orjson.loads(calls[1].result or "")["iso"] == "2025-06-01T14:00:00+02:00"
    assert result.response.splitlines()[0] == "2**10 - 1 = 1023"
    assert result.response.splitlines()[1].startswith(
        'now returned: {"iso":"2025-06-01T14:00:00+02:00"'
    )


async def test_a_tool_error_is_answered_not_raised() -> None:
    _, call = local()
    result = await run(math_agent(), "what is 1/(2-2)?", call)
    assert result.iterations[0].tool_calls[0].error == "division by zero"
    assert result.response == "The tool returned: Error: division by zero"


async def test_bad_arguments_from_the_model_are_answered_too() -> None:
    _, call = local()
    # The local model fills "action" from the enum but not the key "get" needs.
    result = await run(math_agent("scratchpad"), "get from the scratchpad", call)
    assert result.iterations[0].tool_calls[0].arguments == '{"action":"get"}'
    assert result.response == "The tool returned: Error: get needs a key"


async def test_the_iteration_cap_with_local_models() -> None:
    _, call = local()
    result = await run(math_agent(max_iterations=1), "what is 6*7?", call)
    assert result.finish_reason == "max_iterations"
    assert result.iterations[0].tool_calls[0].error is not None


async def test_streaming_on_the_local_models() -> None:
    _, call = local()
    events = [e async for e in stream(math_agent(), "what is 6*7?", call)]
    assert isinstance(events[0], IterationDone)
    deltas = [e.text for e in events if isinstance(e, AnswerDelta)]
    assert len(deltas) > 1 and "".join(deltas) == "6*7 = 42"
    assert isinstance(events[-2], IterationDone) and isinstance(events[-1], AgentDone)
    assert events[-1].result.response == "6*7 = 42"


async def test_without_a_reason_to_call_tools_the_model_just_answers() -> None:
    _, call = local("echo")
    result = await run(math_agent(), "hello there", call)
    assert result.response == "hello there" and len(result.iterations) == 1
