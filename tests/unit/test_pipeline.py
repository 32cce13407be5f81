"""The pipeline driven directly, in-process: scripted provider, memory limiter, a list ledger."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

import pytest

from continuum.auth.keys import StaticKeys
from continuum.core.context import Principal, RequestContext
from continuum.core.events import ErrorEvent, Event, TextDelta, Usage
from continuum.core.limits import parse_rate_limits
from continuum.core.pipeline import Pipeline, estimate_prompt_tokens
from continuum.core.ports import UsageRecord
from continuum.core.relay import first_event, relay
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.stream import collect
from continuum.core.types import ChatRequest, Message, SamplingParams
from continuum.errors import (
    AuthenticationFailed,
    ContinuumError,
    InternalError,
    ModelNotFound,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from continuum.limits.memory import MemoryLimiter
from continuum.routing.router import RetryPolicy, Router
from continuum.routing.table import RoutingTable
from continuum.testing.clock import ManualClock
from continuum.testing.scripted import ScriptedProvider, Step, break_after, fail, ok

KEY = "sk-pipeline-test-000000001"


class ListLedger:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, entry: UsageRecord) -> None:
        self.records.append(entry)


def make(
    steps: list[Step], *, limits: str | list[str] | None = None, permissions: set[str] | None = None
) -> tuple[Pipeline, ScriptedProvider, ListLedger, MemoryLimiter]:
    provider = ScriptedProvider({"m": steps})
    principal = Principal(
        "ann",
        "Ann",
        permissions=frozenset(permissions) if permissions is not None else None,
        limits=parse_rate_limits(limits),
    )
    ledger = ListLedger()
    limiter = MemoryLimiter(clock=ManualClock().monotonic)
    pipeline = Pipeline(
        authenticator=StaticKeys([(KEY, principal)]),
        table=RoutingTable(
            [ModelRoute("model", (Deployment("scripted", "m"),)), ModelRoute("other", ())]
        ),
        router=Router({"scripted": provider}, retry=RetryPolicy(retries=0)),
        limiter=limiter,
        ledger=ledger,
    )
    return pipeline, provider, ledger, limiter


REQUEST = ChatRequest("model", (Message("user", "say something nice please"),))


async def open_ctx(pipeline: Pipeline) -> RequestContext:
    return await pipeline.open(KEY, door="test", prefix="t-", client="10.0.0.1")


async def test_open_authenticates_and_names_the_request() -> None:
    pipeline, *_ = make([ok()])
    ctx = await open_ctx(pipeline)
    assert ctx.principal.id == "ann" and ctx.door == "test" and ctx.client == "10.0.0.1"
    assert ctx.request_id.startswith("t-") and len(ctx.request_id) == 26
    with pytest.raises(AuthenticationFailed):
        await pipeline.open("sk-wrong", door="test", prefix="t-")


async def test_success_streams_the_events_and_records_the_usage() -> None:
    pipeline, _, ledger, _ = make([ok("one two three")])
    ctx = await open_ctx(pipeline)
    completion = await collect(pipeline.chat(ctx, REQUEST))
    assert completion.choices[0].text == "one two three"
    (entry,) = ledger.records
    assert (entry.status, entry.error_code, entry.door) == (200, None, "test")
    assert (entry.prompt_tokens, entry.completion_tokens) == (1, 3)
    assert entry.deployment == "scripted/m" and entry.request_id == ctx.request_id
    assert entry.ttft_ms is not None and entry.latency_ms >= entry.ttft_ms


async def test_a_failure_before_the_first_event_raises_and_is_recorded() -> None:
    pipeline, _, ledger, _ = make([fail(UpstreamUnavailable("down"))])
    events = pipeline.chat(await open_ctx(pipeline), REQUEST)
    with pytest.raises(UpstreamUnavailable):
        await first_event(events)
    (entry,) = ledger.records
    assert (entry.status, entry.error_code) == (503, "upstream_unavailable")
    assert entry.prompt_tokens == entry.completion_tokens == 0


async def test_a_failure_after_the_first_event_is_an_error_event_and_no_success_frame() -> None:
    pipeline, _, ledger, _ = make([break_after(2, UpstreamError("cut"))])
    ctx = await open_ctx(pipeline)
    events = pipeline.chat(ctx, REQUEST)
    first = await first_event(events)
    frames = [frame async for frame in relay(first, events, Frames())]
    assert frames == ["text:a", "text: b", "error:upstream_error"]  # and no end frame
    (entry,) = ledger.records
    assert (entry.status, entry.error_code) == (502, "upstream_error")
    # The two relayed tokens are paid for, though the upstream never reported usage.
    assert entry.completion_tokens == 2
    assert entry.prompt_tokens == estimate_prompt_tokens(REQUEST)


class Frames:
    """A toy dialect: one string per event, an end frame only for a good stream."""

    def encode(self, event: Event) -> str | None:
        if isinstance(event, TextDelta):
            return f"text:{event.text}"
        return None

    def error(self, error: ContinuumError) -> str:
        return f"error:{error.code}"

    def end(self) -> str | None:
        return "end"


async def test_a_good_stream_ends_with_the_end_frame() -> None:
    pipeline, *_ = make([ok("x y")])
    events = pipeline.chat(await open_ctx(pipeline), REQUEST)
    frames = [f async for f in relay(await first_event(events), events, Frames())]
    assert frames == ["text:x", "text: y", "end"]


async def test_an_empty_stream_is_an_upstream_error() -> None:
    async def nothing() -> AsyncGenerator[Event, None]:
        return
        yield  # pragma: no cover

    with pytest.raises(UpstreamError, match="empty stream"):
        await first_event(nothing())


async def test_cancellation_is_recorded_as_499_and_closes_the_upstream() -> None:
    pipeline, provider, ledger, _ = make([Step(text="late", first_delay=30)])
    events = pipeline.chat(await open_ctx(pipeline), REQUEST)
    task = asyncio.ensure_future(first_event(events))
    for _ in range(100):  # let the request reach the provider
        if provider.calls:
            break
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.closed  # the upstream generator was closed
    (entry,) = ledger.records
    assert (entry.status, entry.error_code) == (499, "client_closed")


async def test_a_client_that_leaves_mid_stream_pays_for_what_it_was_sent() -> None:
    pipeline, _, ledger, _ = make([ok("a b c d e f g h", token_delay=0.001)])
    events = pipeline.chat(await open_ctx(pipeline), REQUEST)
    assert isinstance(await first_event(events), TextDelta)
    assert isinstance(await anext(events), TextDelta)
    await events.aclose()  # the client went away after two tokens
    (entry,) = ledger.records
    assert (entry.status, entry.error_code) == (499, "client_closed")
    assert entry.completion_tokens == 2


async def test_a_bug_is_a_500_logged_with_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    pipeline, _, ledger, _ = make([break_after(1, RuntimeError("boom"))])
    ctx = await open_ctx(pipeline)
    events = pipeline.chat(ctx, REQUEST)
    first = await first_event(events)
    with caplog.at_level(logging.ERROR):
        frames = [frame async for frame in relay(first, events, Frames())]
    assert frames == ["text:a", "error:internal_error"]
    assert any(ctx.request_id in r.getMessage() for r in caplog.records)
    (entry,) = ledger.records
    assert (entry.status, entry.error_code) == (500, "internal_error")


async def test_a_bug_before_the_first_event_raises_an_internal_error() -> None:
    pipeline, _, ledger, _ = make([fail(RuntimeError("boom"))])
    with pytest.raises(InternalError):
        await first_event(pipeline.chat(await open_ctx(pipeline), REQUEST))
    assert ledger.records[0].status == 500


async def test_permissions_are_checked_before_anything_runs() -> None:
    pipeline, provider, ledger, _ = make([ok()], permissions={"other"})
    with pytest.raises(ModelNotFound):  # as if it did not exist: ids cannot be enumerated
        await first_event(pipeline.chat(await open_ctx(pipeline), REQUEST))
    assert not provider.calls and not ledger.records


async def test_limits_are_reserved_then_settled_with_real_usage() -> None:
    pipeline, _, ledger, limiter = make([ok("one two three")], limits=["100 tokens/hour", "5/hour"])
    ctx = await open_ctx(pipeline)
    request = ChatRequest("model", REQUEST.messages, SamplingParams(max_tokens=50))
    events = pipeline.chat(ctx, request)
    await first_event(events)
    # While the stream runs the estimate is held: prompt guess + max_tokens.
    held = {s.limit.kind: s for s in ctx.limits}
    assert held["tokens"].remaining == 100 - (estimate_prompt_tokens(request) + 50)
    assert held["requests"].remaining == 4
    await collect(events)
    (state,) = [s for s in (await limiter.stats("ann"))["ann"] if s.limit.kind == "tokens"]
    assert state.remaining == 100 - 4  # settled at the scripted usage: 1 prompt + 3 completion
    assert ledger.records[0].completion_tokens == 3


async def test_a_refusal_is_recorded_and_carries_the_limit_states() -> None:
    pipeline, provider, ledger, _ = make([ok()], limits="1/hour")
    await collect(pipeline.chat(await open_ctx(pipeline), REQUEST))
    with pytest.raises(RateLimited) as caught:
        await first_event(pipeline.chat(await open_ctx(pipeline), REQUEST))
    assert caught.value.retry_after > 3000 and caught.value.states[0].remaining == 0
    assert [r.status for r in ledger.records] == [200, 429]
    assert len(provider.calls) == 1


async def test_a_failed_upstream_gives_back_the_reserved_tokens() -> None:
    pipeline, _, _, limiter = make([fail(UpstreamUnavailable("down"))], limits="100 tokens/hour")
    with pytest.raises(UpstreamUnavailable):
        await first_event(pipeline.chat(await open_ctx(pipeline), REQUEST))
    held = (await limiter.stats("ann")).get("ann", [])
    assert all(s.remaining == s.limit.amount for s in held)  # fully refunded: nothing held


async def test_error_events_from_the_provider_end_the_stream_with_the_error() -> None:
    pipeline, *_ = make([break_after(0, UpstreamError("at once"))])
    events = pipeline.chat(await open_ctx(pipeline), REQUEST)
    first = await first_event(events)
    assert isinstance(first, ErrorEvent)
    assert [f async for f in relay(first, events, Frames())] == ["error:upstream_error"]


def test_usage_total() -> None:
    assert Usage(3, 4).total_tokens == 7


async def test_a_served_route_gets_the_callers_context_and_is_not_charged_itself() -> None:
    pipeline, _, ledger, _ = make([ok("inner")], limits="1/minute")
    seen: list[tuple[RequestContext, ChatRequest]] = []
    closed: list[bool] = []

    async def serve(ctx: RequestContext, request: ChatRequest) -> AsyncGenerator[Event, None]:
        seen.append((ctx, request))
        try:
            yield TextDelta("served ")
            # What an agent does: its own model call, back through the pipeline.
            async for event in pipeline.chat(ctx, ChatRequest("model", request.messages)):
                yield event
            yield TextDelta(" more")
        finally:
            closed.append(True)

    assert isinstance(pipeline.table, RoutingTable)
    pipeline.table.add(ModelRoute("served", (), serve=serve))
    with pytest.raises(ValueError, match="'served' is already routed"):
        pipeline.table.add(ModelRoute("served", ()))
    ctx = await open_ctx(pipeline)
    request = ChatRequest("served", REQUEST.messages)
    completion = await collect(pipeline.chat(ctx, request))
    assert completion.choices[0].text == "served inner more"
    assert seen == [(ctx, request)] and closed == [True]
    # One record and one request of the 1/minute limit: the inner call's, not the route's.
    assert [(r.model, r.user_id) for r in ledger.records] == [("model", "ann")]
    with pytest.raises(RateLimited):
        await collect(pipeline.chat(ctx, request))
    events = pipeline.chat(await open_ctx(pipeline), request)
    assert await anext(events) == TextDelta("served ")
    await events.aclose()  # a client leaving closes the served stream too
    assert closed == [True, True, True]


async def test_a_served_route_is_authorized_first() -> None:
    pipeline, *_ = make([ok()], permissions={"model"})

    async def serve(ctx: RequestContext, request: ChatRequest) -> AsyncGenerator[Event, None]:
        raise AssertionError("never served")
        yield TextDelta("")

    assert isinstance(pipeline.table, RoutingTable)
    pipeline.table.add(ModelRoute("served", (), serve=serve))
    with pytest.raises(ModelNotFound):  # not permitted looks like not there
        await collect(pipeline.chat(await open_ctx(pipeline), ChatRequest("served", ())))
