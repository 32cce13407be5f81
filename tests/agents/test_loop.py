"""The agent loop against a scripted model: calls, concurrency, failures, limits, streaming."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator
from typing import Any

import orjson
import pytest

from continuum.agents.agent import Agent
from continuum.agents.chat import chat_events
from continuum.agents.loop import MAX_RESULT_CHARS, run, stream
from continuum.agents.records import AgentDone, AnswerDelta, IterationDone, ToolCallRecord
from continuum.agents.tools import FunctionTool, ToolContext, ToolError, builtin_tools, tool
from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, Usage
from continuum.core.stream import collect
from continuum.core.types import ChatRequest, Message
from continuum.errors import PermissionDenied, UpstreamError, UpstreamUnavailable
from tests.agents.scripted import Script, Turn, asks, fails, says


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode() -> str:
    """Always fails with an unexpected error."""
    raise ValueError("boom")


@tool
def refuse() -> str:
    """Always refuses."""
    raise ToolError("not today")


def make_agent(*tools: FunctionTool, **options: Any) -> Agent:
    fields: dict[str, Any] = {"system_prompt": "Be exact.", "tool_timeout": 5.0, **options}
    return Agent(name="tester", model="scripted", tools={t.name: t for t in tools}, **fields)


async def test_one_tool_call_then_the_answer() -> None:
    script = Script([asks(("add", '{"a": 2, "b": 3}')), says("It is 5.")])
    result = await run(make_agent(add), "what is 2+3?", script, user="ann", request_id="r")
    assert result.response == "It is 5." and result.finish_reason == "stop"
    first, second = result.iterations
    assert first.tool_calls == (ToolCallRecord("call_0", "add", '{"a": 2, "b": 3}', result="5"),)
    assert (first.output, first.finish_reason, first.usage) == ("", "tool_calls", Usage(20, 8))
    assert (second.output, second.tool_calls, second.usage) == ("It is 5.", (), Usage(10, 5))
    assert result.usage == Usage(30, 13)
    # What the model saw: the conversation, the schemas, then the call and its result.
    one, two = script.requests
    assert [(m.role, m.text) for m in one.messages] == [
        ("system", "Be exact."),
        ("user", "what is 2+3?"),
    ]
    assert one.tools == (add.spec,) and one.model == "scripted" and one.user == "ann"
    assert (one.request_id, two.request_id) == ("r-1", "r-2")
    assistant, answer = two.messages[2:]
    assert assistant.role == "assistant" and assistant.content is None
    assert [(c.id, c.name, c.arguments) for c in assistant.tool_calls] == [
        ("call_0", "add", '{"a": 2, "b": 3}')
    ]
    assert answer == Message("tool", "5", name="add", tool_call_id="call_0")
    assert script.closed == 2


async def test_parallel_calls_run_concurrently_and_report_in_call_order() -> None:
    log: list[str] = []
    both_running = asyncio.Barrier(2)
    slow_may_finish = asyncio.Event()

    @tool
    async def slow(name: str) -> str:
        """Finishes after the other one."""
        log.append(f"start {name}")
        await both_running.wait()  # a sequential loop would never get past this
        await slow_may_finish.wait()
        log.append(f"end {name}")
        return f"slow {name}"

    @tool
    async def quick(name: str) -> str:
        """Finishes first."""
        log.append(f"start {name}")
        await both_running.wait()
        log.append(f"end {name}")
        slow_may_finish.set()
        return f"quick {name}"

    script = Script([asks(("slow", '{"name": "a"}'), ("quick", '{"name": "b"}')), says("done")])
    result = await run(make_agent(slow, quick), "go", script)
    assert log == ["start a", "start b", "end b", "end a"]
    records = result.iterations[0].tool_calls
    assert [(r.name, r.result) for r in records] == [("slow", "slow a"), ("quick", "quick b")]
    tool_messages = script.requests[1].messages[-2:]
    assert [(m.tool_call_id, m.text) for m in tool_messages] == [
        ("call_0", "slow a"),
        ("call_1", "quick b"),
    ]


async def test_failures_go_back_to_the_model_as_results() -> None:
    script = Script(
        [
            asks(
                ("explode", "{}"),
                ("refuse", ""),
                ("rm_rf", '{"path": "/"}'),
                ("add", '{"a": 1, "b": '),
                ("add", '{"a": 1}'),
                ("add", '{"a": "one", "b": 2}'),
                ("add", "[1, 2]"),
            ),
            says("Sorry."),
        ]
    )
    result = await run(make_agent(add, explode, refuse), "try everything", script)
    assert result.response == "Sorry."
    errors = [record.error for record in result.iterations[0].tool_calls]
    assert errors == [
        "the tool failed: ValueError: boom",
        "not today",
        "unknown tool 'rm_rf'; the tools are: add, explode, refuse",
        errors[3],
        "invalid arguments: b: Field required",
        "invalid arguments: a: Input should be a valid integer, unable to parse string as an integer",
        "the arguments must be a JSON object, got list",
    ]
    assert errors[3] is not None and errors[3].startswith("the arguments are not valid JSON")
    seen = [m.text for m in script.requests[1].messages if m.role == "tool"]
    assert seen == [f"Error: {error}" for error in errors]


async def test_a_tool_that_outlives_its_timeout_is_cancelled_and_reported() -> None:
    cancelled = asyncio.Event()

    @tool
    async def hang() -> str:
        """Never answers."""
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return "never"

    @tool
    async def raises_timeout() -> str:
        """Its own timeout, not the loop's."""
        raise TimeoutError

    script = Script(
        [asks(("hang", "{}"), ("add", '{"a": 1, "b": 1}'), ("raises_timeout", "{}")), says("ok")]
    )
    result = await run(make_agent(hang, add, raises_timeout, tool_timeout=0.05), "wait", script)
    hung, added, own = result.iterations[0].tool_calls
    assert hung.error == "the tool did not finish within 0.05 s" and cancelled.is_set()
    assert added.result == "2"
    assert own.error == "the tool failed: it timed out waiting for something"
    assert result.response == "ok"


async def test_a_blocking_sync_tool_times_out_without_stalling_the_loop() -> None:
    release = threading.Event()

    @tool
    def block() -> str:
        """Blocks its worker thread until released."""
        release.wait(30)
        return "released"

    script = Script([asks(("block", "{}")), says("moved on")])
    try:
        result = await run(make_agent(block, tool_timeout=0.05), "block", script)
    finally:
        release.set()
    assert result.iterations[0].tool_calls[0].error == "the tool did not finish within 0.05 s"
    assert result.response == "moved on"


async def test_the_iteration_cap_gives_a_result_that_says_so() -> None:
    script = Script([asks(("add", '{"a": 1, "b": 1}'))])
    result = await run(make_agent(add, max_iterations=3), "loop forever", script)
    assert len(script.requests) == 3 and len(result.iterations) == 3
    assert result.finish_reason == "max_iterations"
    assert result.response == "The agent stopped after 3 iterations without a final answer."
    assert [r.result for it in result.iterations[:2] for r in it.tool_calls] == ["2", "2"]
    last = result.iterations[2].tool_calls[0]
    assert (
        last.result is None and last.error == "not run: the agent reached its limit of 3 iterations"
    )
    assert result.usage == Usage(60, 24)


async def test_the_answer_streams_as_the_model_writes_it() -> None:
    gate = asyncio.Event()
    final = says("The answer is 5.")
    final.gate = gate  # the model stalls after its first word until the test has it
    script = Script([asks(("add", '{"a": 2, "b": 3}')), final])
    events = stream(make_agent(add), "2+3?", script)
    assert isinstance(first := await anext(events), IterationDone)
    assert first.iteration.tool_calls[0].result == "5"
    assert await anext(events) == AnswerDelta("The")  # while the model is still writing
    assert not gate.is_set()
    gate.set()
    rest = [event async for event in events]
    deltas = ["The"] + [e.text for e in rest if isinstance(e, AnswerDelta)]
    assert deltas == ["The", " answer", " is", " 5."]
    assert isinstance(rest[-2], IterationDone) and isinstance(rest[-1], AgentDone)
    assert rest[-1].result.response == "".join(deltas)


async def test_text_written_before_tool_calls_is_a_paragraph_of_the_response() -> None:
    script = Script([asks(("add", '{"a": 2, "b": 3}'), text="Let me add."), says("It is 5.")])
    events = [event async for event in stream(make_agent(add), "2+3?", script)]
    deltas = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    done = events[-1]
    assert isinstance(done, AgentDone)
    assert deltas == done.result.response == "Let me add.\n\nIt is 5."
    assert [it.output for it in done.result.iterations] == ["Let me add.", "It is 5."]
    assert script.requests[1].messages[2].content == "Let me add."
    capped = await run(
        make_agent(add, max_iterations=1), "2+3?", Script([asks(("add", "{}"), text="Hmm.")])
    )
    assert capped.response == "Hmm.\n\nThe agent stopped after 1 iterations without a final answer."


async def test_model_failures_raise_before_the_first_event_and_end_the_stream_after() -> None:
    down = UpstreamUnavailable("down")
    with pytest.raises(UpstreamUnavailable):
        await run(make_agent(add), "x", Script([fails(down)]))
    # Failing after its own first event, but before the agent yielded anything: still raised.
    early = Script([fails(down, after=[Usage(1, 1)])])
    with pytest.raises(UpstreamUnavailable):
        await anext(stream(make_agent(add), "x", early))
    # After the agent has streamed: the last event is the error, and run() raises it.
    late = Script(
        [asks(("add", '{"a": 1, "b": 1}')), fails(UpstreamError("broke"), after=[TextDelta("par")])]
    )
    events = [event async for event in stream(make_agent(add), "x", late)]
    assert [type(e).__name__ for e in events] == ["IterationDone", "AnswerDelta", "ErrorEvent"]
    assert isinstance(events[-1], ErrorEvent) and events[-1].error.message == "broke"
    raised = Script([asks(("add", '{"a": 1, "b": 1}')), fails(UpstreamError("raised"))])
    events = [event async for event in stream(make_agent(add), "x", raised)]
    assert isinstance(events[-1], ErrorEvent) and events[-1].error.message == "raised"
    with pytest.raises(UpstreamError, match="broke"):
        await run(make_agent(add), "x", Script(late.turns))
    assert late.closed == len(late.requests) == 2


async def test_a_model_call_that_refuses_when_called() -> None:
    denied = PermissionDenied("not for you")
    script = Script([asks(("add", '{"a": 1, "b": 1}')), says("never")])

    def call_model(request: ChatRequest) -> AsyncGenerator[Event, None]:
        if script.requests:
            raise denied
        return script(request)

    events = [event async for event in stream(make_agent(add), "x", call_model)]
    assert isinstance(events[0], IterationDone)
    assert isinstance(events[-1], ErrorEvent) and events[-1].error is denied

    def refuse_at_once(request: ChatRequest) -> AsyncGenerator[Event, None]:
        raise denied

    with pytest.raises(PermissionDenied):
        await run(make_agent(add), "x", refuse_at_once)


async def test_calls_without_ids_get_ids_that_match_their_results() -> None:
    script = Script(
        [asks(("add", '{"a": 1, "b": 1}'), ("add", '{"a": 2, "b": 2}'), ids=False), says("ok")]
    )
    result = await run(make_agent(add), "x", script)
    assert [r.id for r in result.iterations[0].tool_calls] == ["call_1_0", "call_1_1"]
    messages = script.requests[1].messages
    assert [c.id for c in messages[-3].tool_calls] == ["call_1_0", "call_1_1"]
    assert [m.tool_call_id for m in messages[-2:]] == ["call_1_0", "call_1_1"]


async def test_history_and_a_shared_context_carry_a_conversation() -> None:
    pad = {t.name: t for t in builtin_tools()}["scratchpad"]
    agent = make_agent(pad, system_prompt=None)
    context = ToolContext(agent="tester")
    store = Script(
        [asks(("scratchpad", '{"action": "set", "key": "k", "value": "v"}')), says("stored")]
    )
    await run(agent, "remember k", store, context=context)
    history = [Message("user", "remember k"), Message("assistant", "stored")]
    read = Script([asks(("scratchpad", '{"action": "get", "key": "k"}')), says("it is v")])
    result = await run(agent, "what is k?", read, context=context, history=history)
    assert result.iterations[0].tool_calls[0].result == '{"key":"k","value":"v"}'
    assert [m.role for m in read.requests[0].messages] == ["user", "assistant", "user"]
    fresh = Script(read.turns)
    other = await run(agent, "what is k?", fresh)  # a new conversation has no notes
    assert other.iterations[0].tool_calls[0].error == "no note named 'k'; the notes are: []"


async def test_the_result_has_seed_001s_shape() -> None:
    result = await run(
        make_agent(add), "2+3?", Script([asks(("add", '{"a": 2, "b": 3}')), says("5")])
    )
    body = orjson.loads(orjson.dumps(result.to_dict()))
    assert set(body) == {"prompt", "response", "iterations", "usage", "finish_reason"}
    assert body["prompt"] == "2+3?" and body["response"] == "5"
    assert body["usage"] == {"prompt_tokens": 30, "completion_tokens": 13, "total_tokens": 43}
    assert body["iterations"][0] == {
        "index": 1,
        "output": "",
        "tool_calls": [
            {
                "id": "call_0",
                "name": "add",
                "arguments": '{"a": 2, "b": 3}',
                "result": "5",
                "error": None,
            }
        ],
        "finish_reason": "tool_calls",
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
    }


async def test_missing_usage_counts_as_zero_and_other_choices_are_ignored() -> None:
    turn = Turn([TextDelta("mine"), TextDelta("theirs", choice=1), Finish("length")])
    result = await run(make_agent(), "x", Script([turn]))
    assert result.response == "mine" and result.usage == Usage(0, 0)
    assert result.finish_reason == "length"


async def test_huge_results_are_cut() -> None:
    @tool
    def flood() -> str:
        """Too much text."""
        return "x" * (MAX_RESULT_CHARS + 10)

    result = await run(make_agent(flood), "x", Script([asks(("flood", "{}")), says("ok")]))
    text = result.iterations[0].tool_calls[0].result
    assert text is not None and text.endswith(f"… (cut: {MAX_RESULT_CHARS + 10} characters in all)")
    assert len(text) < MAX_RESULT_CHARS + 100


async def test_cancelling_a_run_cancels_its_tools() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Waits until cancelled."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    script = Script([asks(("wait_forever", "{}"), ("wait_forever", "{}"))])
    task = asyncio.create_task(run(make_agent(wait_forever), "x", script))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()


async def test_an_agent_as_a_model_streams_chat_events() -> None:
    script = Script([asks(("add", '{"a": 2, "b": 3}'), text="Adding."), says("It is 5.")])
    completion = await collect(chat_events(stream(make_agent(add), "2+3?", script)))
    choice = completion.choices[0]
    assert choice.text == "Adding.\n\nIt is 5." and choice.finish_reason == "stop"
    assert choice.tool_calls == [] and completion.usage == Usage(30, 13)
    capped = await collect(
        chat_events(stream(make_agent(add, max_iterations=1), "x", Script([asks(("add", "{}"))])))
    )
    assert capped.choices[0].finish_reason == "length"
    with pytest.raises(UpstreamUnavailable):
        await anext(
            chat_events(stream(make_agent(add), "x", Script([fails(UpstreamUnavailable("down"))])))
        )
    late = Script(
        [
            asks(("add", '{"a": 1, "b": 1}'), text="a"),
            fails(UpstreamError("broke"), after=[TextDelta("b")]),
        ]
    )
    events = [e async for e in chat_events(stream(make_agent(add), "x", late))]
    assert events[0] == TextDelta("a") and isinstance(events[-1], ErrorEvent)
