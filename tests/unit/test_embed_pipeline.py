"""Embeddings through the pipeline and the router, in-process, with a scripted embedder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence

import pytest

from continuum.auth.keys import StaticKeys
from continuum.core.context import Principal, RequestContext
from continuum.core.embedding import EmbeddingInput, EmbeddingRequest, is_token_input
from continuum.core.events import Event
from continuum.core.limits import parse_rate_limits
from continuum.core.pipeline import Pipeline
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.types import ChatRequest
from continuum.errors import (
    ContinuumError,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from continuum.limits.memory import MemoryLimiter
from continuum.routing.router import RetryPolicy, Router
from continuum.routing.table import RoutingTable
from continuum.testing.clock import ManualClock
from continuum.testing.scripted import ScriptedProvider, ok
from tests.unit.test_pipeline import ListLedger

KEY = "sk-embed-pipeline-0000001"
Step = ContinuumError | str | None  # an error to raise, "slow", "short" (one vector too few)


class ScriptedEmbedder:
    """Vectors of two numbers, one token per input; failures and stalls on script."""

    name = "vectors"

    def __init__(self, script: dict[str, list[Step]] | None = None):
        self.script = script or {}
        self.calls: list[str] = []

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        raise InvalidRequest("no chats here")
        yield  # pragma: no cover

    async def embed(
        self, inputs: EmbeddingInput, deployment: Deployment, *, dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        self.calls.append(deployment.upstream_model)
        steps = self.script.get(deployment.upstream_model) or [None]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, ContinuumError):
            raise step
        if step == "slow":
            await asyncio.sleep(30)
        count = len(inputs) - (step == "short")
        tokens = sum(len(i) for i in inputs) if is_token_input(inputs) else len(inputs)
        return [[1.0, 0.0]] * count, tokens

    async def aclose(self) -> None:
        return None


def route(name: str, *deployments: Deployment, retries: int | None = None) -> ModelRoute:
    return ModelRoute(name, deployments, retries=retries)


def vec(upstream: str, weight: float = 1.0, **options: float) -> Deployment:
    return Deployment("vectors", upstream, options, weight)


def pipeline_of(
    embedder: ScriptedEmbedder,
    routes: list[ModelRoute],
    *,
    limits: list[str] | None = None,
    permissions: set[str] | None = None,
) -> tuple[Pipeline, Router, ListLedger]:
    principal = Principal(
        "ann",
        "Ann",
        permissions=frozenset(permissions) if permissions is not None else None,
        limits=parse_rate_limits(limits),
    )
    router = Router(
        {"vectors": embedder, "scripted": ScriptedProvider({"m": [ok()]})},
        retry=RetryPolicy(retries=1, backoff=0.001),
    )
    ledger = ListLedger()
    pipeline = Pipeline(
        authenticator=StaticKeys([(KEY, principal)]),
        table=RoutingTable(routes),
        router=router,
        limiter=MemoryLimiter(clock=ManualClock().monotonic),
        ledger=ledger,
    )
    return pipeline, router, ledger


async def ctx_of(pipeline: Pipeline) -> RequestContext:
    return await pipeline.open(KEY, door="http", prefix="embd-")


def request(model: str, inputs: Sequence[str] = ("a", "b", "c")) -> EmbeddingRequest:
    return EmbeddingRequest(model, tuple(inputs))


async def test_vectors_are_recorded_with_the_tokens_counted() -> None:
    pipeline, _, ledger = pipeline_of(ScriptedEmbedder(), [route("e", vec("one"))])
    ctx = await ctx_of(pipeline)
    found = await pipeline.embed(ctx, request("e"))
    assert found.vectors == [[1.0, 0.0]] * 3 and found.prompt_tokens == 3
    (entry,) = ledger.records
    assert (entry.model, entry.deployment, entry.status, entry.door) == (
        "e",
        "vectors/one",
        200,
        "http",
    )
    assert (entry.prompt_tokens, entry.completion_tokens, entry.ttft_ms) == (3, 0, None)


async def test_retries_then_falls_back_to_the_next_deployment() -> None:
    embedder = ScriptedEmbedder({"a": [UpstreamUnavailable("down")] * 3})
    pipeline, _, ledger = pipeline_of(
        embedder, [route("e", vec("a", weight=1e6), vec("b", weight=1e-6))]
    )
    found = await pipeline.embed(await ctx_of(pipeline), request("e"))
    assert found.prompt_tokens == 3
    assert embedder.calls == ["a", "a", "b"]  # one retry on a, then b
    assert ledger.records[0].deployment == "vectors/b"


async def test_a_refusal_is_not_retried_and_is_recorded() -> None:
    embedder = ScriptedEmbedder({"a": [UpstreamRejected("bad key")]})
    pipeline, _, ledger = pipeline_of(
        embedder, [route("e", vec("a", weight=1e6), vec("b", weight=1e-6))]
    )
    with pytest.raises(UpstreamRejected):
        await pipeline.embed(await ctx_of(pipeline), request("e"))
    assert embedder.calls == ["a"]  # no retry, no fallback
    (entry,) = ledger.records
    assert (entry.status, entry.error_code, entry.deployment) == (502, "upstream_rejected", None)


async def test_timeouts_and_short_answers_are_upstream_failures() -> None:
    embedder = ScriptedEmbedder({"slow": ["slow"], "short": ["short"]})
    pipeline, _, ledger = pipeline_of(
        embedder,
        [
            route("slow", vec("slow", timeout=0.05), retries=0),
            route("short", vec("short"), retries=0),
        ],
    )
    ctx = await ctx_of(pipeline)
    with pytest.raises(UpstreamTimeout):
        await pipeline.embed(ctx, request("slow"))
    with pytest.raises(UpstreamError, match="2 vectors for 3 inputs"):
        await pipeline.embed(await ctx_of(pipeline), request("short"))
    assert [r.status for r in ledger.records] == [504, 502]


async def test_chat_only_providers_are_skipped_or_refused() -> None:
    embedder = ScriptedEmbedder()
    pipeline, _, _ = pipeline_of(
        embedder,
        [
            route("chat", Deployment("scripted", "m")),
            route("mixed", Deployment("scripted", "m", weight=1e6), vec("v", weight=1e-6)),
        ],
    )
    with pytest.raises(InvalidRequest) as caught:
        await pipeline.embed(await ctx_of(pipeline), request("chat"))
    assert (caught.value.status, caught.value.code, caught.value.param) == (
        400,
        "model_not_supported",
        "model",
    )
    assert "'chat'" in caught.value.message
    await pipeline.embed(await ctx_of(pipeline), request("mixed"))
    assert embedder.calls == ["v"]


async def test_permissions_and_token_limits_apply() -> None:
    pipeline, _, ledger = pipeline_of(
        ScriptedEmbedder(),
        [route("e", vec("one")), route("f", vec("one"))],
        limits=["100/minute", "10 tokens/minute"],
        permissions={"e"},
    )
    with pytest.raises(ModelNotFound):  # not permitted looks like not there
        await pipeline.embed(await ctx_of(pipeline), request("f"))
    tokens = EmbeddingRequest("e", ((1, 2, 3, 4, 5, 6),))
    await pipeline.embed(await ctx_of(pipeline), tokens)  # reserves 6 exactly, settles 6
    with pytest.raises(RateLimited):
        await pipeline.embed(await ctx_of(pipeline), tokens)  # 4 left
    await pipeline.embed(await ctx_of(pipeline), EmbeddingRequest("e", ((1, 2, 3, 4),)))
    # Refused before it started (as a chat is): only admitted and rate-limited ones count.
    assert [r.status for r in ledger.records] == [200, 429, 200]


async def test_a_cancelled_request_is_recorded_as_499() -> None:
    pipeline, _, ledger = pipeline_of(
        ScriptedEmbedder({"slow": ["slow"]}), [route("e", vec("slow"))]
    )
    task = asyncio.create_task(pipeline.embed(await ctx_of(pipeline), request("e")))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(r.status, r.error_code) for r in ledger.records] == [(499, "client_closed")]


async def test_admit_counts_requests_and_writes_no_usage() -> None:
    pipeline, _, ledger = pipeline_of(ScriptedEmbedder(), [], limits=["2/minute"])
    ctx = await ctx_of(pipeline)
    await pipeline.admit(ctx)
    await pipeline.admit(ctx)
    assert ctx.limits and ctx.limits[0].remaining == 0
    with pytest.raises(RateLimited):
        await pipeline.admit(ctx)
    assert ledger.records == []
