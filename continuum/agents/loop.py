"""The agent loop: call the model, run the tools it asks for, repeat until it answers.

    conversation = system prompt + history + the user's prompt
    repeat up to max_iterations times:
        call the model with the conversation and the tools' JSON Schemas
        no tool calls -> the answer: done
        run the calls (concurrently, each within tool_timeout), append the assistant's
        calls and one "tool" message per result to the conversation
    still no answer -> a result that says the run stopped at its limit

The loop knows nothing of routing, limits or the ledger: it calls a ``ModelCall``, and
whoever builds that (the pipeline) authorizes, limits and records each call. A tool's
failure, an unknown tool, arguments that are not JSON or break the schema, and a timeout
all go back to the model as the tool's result (``Error: …``); they never end a run.

The answer streams as the model writes it. A model may write text before asking for
tools ("Let me compute that."), and that text has already been streamed by the time the
calls arrive, so the response is every piece of text the model wrote during the run, in
order, the writing of each iteration a paragraph of its own (joined by a blank line).
For most models that is exactly the final answer; the streamed pieces and
``AgentResult.response`` are always the same text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TypeAlias

from continuum.agents.agent import Agent
from continuum.agents.records import (
    AgentDone,
    AgentEvent,
    AgentResult,
    AnswerDelta,
    Iteration,
    IterationDone,
    ToolCallRecord,
)
from continuum.agents.tools.base import ToolContext, ToolError
from continuum.core.events import ErrorEvent, Event, TextDelta, Usage
from continuum.core.stream import Aggregator
from continuum.core.types import ChatRequest, Message, SamplingParams, ToolCall
from continuum.errors import ContinuumError

ModelCall: TypeAlias = Callable[[ChatRequest], AsyncGenerator[Event, None]]
"""Streams one model call. Like a provider, it raises a ``ContinuumError`` for a failure
before its first event and yields an ``ErrorEvent`` for one after it."""

PARAGRAPH = "\n\n"
# A tool's answer beyond this is cut: it would crowd out the conversation in the prompt.
MAX_RESULT_CHARS = 64_000

logger = logging.getLogger("continuum.agents")


def conversation(agent: Agent, prompt: str, history: Sequence[Message] = ()) -> list[Message]:
    """The messages of a run's first model call."""
    messages = [Message("system", agent.system_prompt)] if agent.system_prompt else []
    messages.extend(history)
    messages.append(Message("user", prompt))
    return messages


def _clip(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return f"{text[:MAX_RESULT_CHARS]}… (cut: {len(text)} characters in all)"


async def _run_call(agent: Agent, call: ToolCall, context: ToolContext) -> ToolCallRecord:
    def failed(error: str) -> ToolCallRecord:
        return ToolCallRecord(call.id, call.name, call.arguments, error=error)

    tool = agent.tools.get(call.name)
    if tool is None:
        offered = ", ".join(agent.tools) or "none"
        return failed(f"unknown tool '{call.name}'; the tools are: {offered}")
    deadline = asyncio.timeout(agent.tool_timeout)
    try:
        async with deadline:
            text = await tool.call(call.arguments, context)
    except TimeoutError:
        if deadline.expired():
            return failed(f"the tool did not finish within {agent.tool_timeout:g} s")
        return failed("the tool failed: it timed out waiting for something")
    except ToolError as error:
        return failed(str(error))
    except Exception as error:
        # A tool is foreign code: whatever it raises is reported to the model, not to
        # the caller, so one broken tool cannot break every conversation that offers it.
        logger.warning("tool %s of agent %s failed", call.name, agent.name, exc_info=True)
        return failed(f"the tool failed: {type(error).__name__}: {error}")
    return ToolCallRecord(call.id, call.name, call.arguments, result=_clip(text))


async def run_tool_calls(
    agent: Agent, calls: Sequence[ToolCall], context: ToolContext
) -> tuple[ToolCallRecord, ...]:
    """Run ``calls`` concurrently; the records come back in the order of the calls."""
    if len(calls) == 1:
        return (await _run_call(agent, calls[0], context),)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_run_call(agent, call, context)) for call in calls]
    return tuple(task.result() for task in tasks)


async def stream(
    agent: Agent,
    prompt: str,
    call_model: ModelCall,
    *,
    history: Sequence[Message] = (),
    context: ToolContext | None = None,
    user: str | None = None,
    request_id: str = "agent",
    params: SamplingParams | None = None,
) -> AsyncGenerator[AgentEvent, None]:
    """Run ``agent`` on ``prompt``, streaming its answer and its iterations.

    Ends with ``AgentDone``. A model call's failure raises its ``ContinuumError`` if
    nothing has been yielded yet, and is yielded as a final ``ErrorEvent`` otherwise.
    ``context`` carries the tools' per-conversation state (a new one by default);
    model call ``i`` has the request id ``f"{request_id}-{i}"``; ``params`` (the caller's
    sampling parameters) go with every model call.
    """
    context = context if context is not None else ToolContext(agent=agent.name, user=user)
    messages = conversation(agent, prompt, history)
    tools = tuple(item.spec for item in agent.tools.values())
    iterations: list[Iteration] = []
    answer: list[str] = []
    prompt_tokens = completion_tokens = 0
    started = False
    for index in range(1, agent.max_iterations + 1):
        request = ChatRequest(
            model=agent.model,
            messages=tuple(messages),
            params=params or SamplingParams(),
            tools=tools,
            user=user,
            request_id=f"{request_id}-{index}",
        )
        folded = Aggregator()
        written: list[str] = []
        try:
            # A ModelCall may refuse at once (say, authorization) rather than in its stream.
            events = call_model(request)
        except ContinuumError as error:
            if not started:
                raise
            yield ErrorEvent(error)
            return
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    if event.choice != 0 or not event.text:
                        continue
                    if not written and answer:
                        answer.append(PARAGRAPH)
                        yield AnswerDelta(PARAGRAPH)
                    written.append(event.text)
                    answer.append(event.text)
                    started = True
                    yield AnswerDelta(event.text)
                elif isinstance(event, ErrorEvent):
                    if not started:
                        raise event.error
                    yield event
                    return
                else:
                    folded.add(event)
        except ContinuumError as error:
            if not started:
                raise
            yield ErrorEvent(error)
            return
        finally:
            await events.aclose()

        usage = folded.usage or Usage(0, 0)
        prompt_tokens += usage.prompt_tokens
        completion_tokens += usage.completion_tokens
        choice = next((c for c in folded.result().choices if c.index == 0), None)
        finish = choice.finish_reason if choice is not None else None
        text = "".join(written)
        calls = [
            ToolCall(call.id or f"call_{index}_{number}", call.name, call.arguments)
            for number, call in enumerate(choice.tool_calls if choice is not None else ())
        ]
        if not calls:
            iterations.append(Iteration(index, text, (), usage, finish or "stop"))
            yield IterationDone(iterations[-1])
            yield AgentDone(
                AgentResult(
                    agent=agent.name,
                    prompt=prompt,
                    response="".join(answer),
                    iterations=tuple(iterations),
                    usage=Usage(prompt_tokens, completion_tokens),
                    finish_reason=finish or "stop",
                )
            )
            return
        if index == agent.max_iterations:
            # Nobody would read these results: the calls are recorded, not run.
            skipped = f"not run: the agent reached its limit of {agent.max_iterations} iterations"
            records = tuple(ToolCallRecord(c.id, c.name, c.arguments, error=skipped) for c in calls)
        else:
            records = await run_tool_calls(agent, calls, context)
        iterations.append(Iteration(index, text, records, usage, finish or "tool_calls"))
        started = True
        yield IterationDone(iterations[-1])
        messages.append(Message("assistant", text or None, tool_calls=tuple(calls)))
        messages.extend(
            Message("tool", record.content, name=record.name, tool_call_id=record.id)
            for record in records
        )

    notice = f"The agent stopped after {agent.max_iterations} iterations without a final answer."
    for piece in (PARAGRAPH, notice) if answer else (notice,):
        answer.append(piece)
        yield AnswerDelta(piece)
    yield AgentDone(
        AgentResult(
            agent=agent.name,
            prompt=prompt,
            response="".join(answer),
            iterations=tuple(iterations),
            usage=Usage(prompt_tokens, completion_tokens),
            finish_reason="max_iterations",
        )
    )


async def run(
    agent: Agent,
    prompt: str,
    call_model: ModelCall,
    *,
    history: Sequence[Message] = (),
    context: ToolContext | None = None,
    user: str | None = None,
    request_id: str = "agent",
    params: SamplingParams | None = None,
) -> AgentResult:
    """Run ``agent`` on ``prompt`` to its result (the fold of ``stream``).

    A model call's failure raises its ``ContinuumError``; tool failures do not raise.
    """
    events = stream(
        agent,
        prompt,
        call_model,
        history=history,
        context=context,
        user=user,
        request_id=request_id,
        params=params,
    )
    return await result_of(events)


async def result_of(events: AsyncGenerator[AgentEvent, None]) -> AgentResult:
    """Fold a run's stream to its result; a failure raises its ``ContinuumError``."""
    try:
        async for event in events:
            if isinstance(event, ErrorEvent):
                raise event.error
            if isinstance(event, AgentDone):
                return event.result
    finally:
        await events.aclose()
    raise AssertionError("an agent stream always ends with AgentDone or an error")
