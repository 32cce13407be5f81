"""Routing: weighted order, retries with backoff, fallback, cooldown and recovery, timeouts."""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter

import pytest

from continuum.core.events import ErrorEvent, Event, TextDelta
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.stream import collect
from continuum.core.types import ChatRequest, Message
from continuum.errors import (
    ModelNotFound,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from continuum.providers.registry import prefix_rules
from continuum.routing.health import Health
from continuum.routing.router import RetryPolicy, Router
from continuum.routing.table import RoutingTable
from continuum.testing.scripted import ScriptedProvider, Step, break_after, fail, ok, stall

REQUEST = ChatRequest("m", (Message("user", "hi"),))
FAST = RetryPolicy(retries=1, backoff=0.001)


def route(*names: str, **options: float) -> ModelRoute:
    return ModelRoute("m", tuple(Deployment("scripted", name, options) for name in names))


def router(scripts: dict[str, list[Step]], **kwargs: object) -> tuple[Router, ScriptedProvider]:
    provider = ScriptedProvider(scripts)
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("rng", random.Random(7))
    return Router({"scripted": provider}, **kwargs), provider  # type: ignore[arg-type]


async def answer(r: Router, rt: ModelRoute) -> tuple[str, list[Deployment]]:
    served: list[Deployment] = []
    completion = await collect(r.stream(rt, REQUEST, served))
    return completion.choices[0].text, served


async def test_a_retry_on_the_same_deployment_succeeds() -> None:
    r, provider = router({"a": [fail(UpstreamUnavailable("blip")), ok("recovered")]})
    text, served = await answer(r, route("a"))
    assert text == "recovered" and served[0].upstream_model == "a"
    assert provider.calls_to("a") == 2


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnavailable("503"),
        UpstreamRateLimited("429"),
        UpstreamError("502"),
        UpstreamTimeout("slow"),
    ],
)
async def test_retryable_failures_fall_back_to_the_next_deployment(error: UpstreamError) -> None:
    r, provider = router({"a": [fail(error)], "b": [ok("from b")]}, rng=random.Random(1))
    rt = ModelRoute(
        "m", (Deployment("scripted", "a", weight=1000), Deployment("scripted", "b", weight=0.001))
    )
    text, served = await answer(r, rt)
    assert text == "from b" and served[0].upstream_model == "b"
    assert provider.calls_to("a") == 2  # one try and one retry, then the fallback


async def test_a_rejected_request_is_not_retried_anywhere() -> None:
    r, provider = router({"a": [fail(UpstreamRejected("bad request"))], "b": [ok()]})
    rt = ModelRoute(
        "m", (Deployment("scripted", "a", weight=1e6), Deployment("scripted", "b", weight=1e-6))
    )
    with pytest.raises(UpstreamRejected):
        await answer(r, rt)
    assert provider.calls_to("a") == 1 and provider.calls_to("b") == 0


async def test_when_everything_fails_the_last_error_is_raised() -> None:
    r, provider = router(
        {"a": [fail(UpstreamUnavailable("a down"))], "b": [fail(UpstreamRateLimited("b busy"))]}
    )
    with pytest.raises(UpstreamError) as caught:
        await answer(r, route("a", "b"))
    assert caught.value.status in (429, 503)
    assert provider.calls_to("a") == provider.calls_to("b") == 2


async def test_backoff_grows_between_retries() -> None:
    r, provider = router(
        {"a": [fail(UpstreamUnavailable("x"))]}, retry=RetryPolicy(retries=3, backoff=0.02)
    )
    with pytest.raises(UpstreamUnavailable):
        await answer(r, route("a"))
    starts = [call.started for call in provider.calls]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.01 and gaps[2] >= 0.04  # 0.02 * 2**k, jittered down to half at most


async def test_no_retry_after_the_first_token_the_error_ends_the_stream() -> None:
    r, provider = router({"a": [break_after(2, UpstreamError("dropped"))], "b": [ok("never")]})
    rt = ModelRoute(
        "m", (Deployment("scripted", "a", weight=1e6), Deployment("scripted", "b", weight=1e-6))
    )
    events: list[Event] = [event async for event in r.stream(rt, REQUEST)]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a", " b"]
    assert isinstance(events[-1], ErrorEvent) and events[-1].error.message == "dropped"
    assert provider.calls_to("b") == 0


async def test_first_token_timeout_moves_on() -> None:
    r, provider = router({"slow": [stall(5)], "fast": [ok("quick")]}, retry=RetryPolicy(retries=0))
    rt = ModelRoute(
        "m",
        (
            Deployment("scripted", "slow", {"first_token_timeout": 0.05}, weight=1e6),
            Deployment("scripted", "fast", weight=1e-6),
        ),
    )
    started = time.monotonic()
    text, _ = await answer(r, rt)
    assert text == "quick" and time.monotonic() - started < 1
    assert provider.closed  # the stalled attempt was closed, not left running


async def test_request_timeout_bounds_retries_and_fallbacks() -> None:
    r, _ = router({"a": [stall(5)], "b": [stall(5)]}, retry=RetryPolicy(retries=5))
    rt = ModelRoute("m", route("a", "b").deployments, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await answer(r, rt)
    assert time.monotonic() - started < 1


async def test_total_timeout_after_first_token_ends_with_an_error_event() -> None:
    r, _ = router({"a": [ok("one two three four five", token_delay=0.2)]})
    events = [event async for event in r.stream(route("a", timeout=0.3), REQUEST)]
    assert isinstance(events[0], TextDelta)
    assert isinstance(events[-1], ErrorEvent) and isinstance(events[-1].error, UpstreamTimeout)


async def test_cooldown_skips_a_failing_deployment_and_it_recovers() -> None:
    now = [0.0]
    health = Health(threshold=2, cooldown=30, clock=lambda: now[0])
    r, provider = router(
        {
            "a": [
                fail(UpstreamUnavailable("down")),
                fail(UpstreamUnavailable("down")),
                ok("a is back"),
            ],
            "b": [ok("b")],
        },
        health=health,
        retry=RetryPolicy(retries=0),
    )
    rt = ModelRoute(
        "m", (Deployment("scripted", "a", weight=1e6), Deployment("scripted", "b", weight=1e-6))
    )
    assert (await answer(r, rt))[0] == "b"  # a failed once
    assert (await answer(r, rt))[0] == "b"  # a failed twice: cooling now
    assert not health.available("scripted/a")
    assert (await answer(r, rt))[0] == "b"
    assert provider.calls_to("a") == 2  # skipped while cooling
    now[0] = 31
    assert (await answer(r, rt))[0] == "a is back"
    assert health.available("scripted/a") and provider.calls_to("a") == 3


async def test_cooling_deployments_are_still_tried_when_nothing_else_is_left() -> None:
    now = [0.0]
    health = Health(threshold=1, cooldown=60, clock=lambda: now[0])
    r, _ = router(
        {"a": [fail(UpstreamUnavailable("down")), ok("still there")]},
        health=health,
        retry=RetryPolicy(retries=0),
    )
    with pytest.raises(UpstreamUnavailable):
        await answer(r, route("a"))
    assert not health.available("scripted/a")
    assert (await answer(r, route("a")))[0] == "still there"


def test_weighted_order_follows_the_weights() -> None:
    r, _ = router({}, rng=random.Random(42))
    rt = ModelRoute(
        "m", (Deployment("scripted", "heavy", weight=3), Deployment("scripted", "light", weight=1))
    )
    leads = Counter(r.order(rt)[0].upstream_model for _ in range(4000))
    assert 0.71 < leads["heavy"] / 4000 < 0.79


def test_prefix_rules_route_unknown_names_only_when_enabled() -> None:
    known = ModelRoute("gpt-4o", (Deployment("local", "text"),))
    plain = RoutingTable([known])
    with pytest.raises(ModelNotFound):
        plain.get("claude-3-5-sonnet")
    table = RoutingTable([known], prefix_rules())
    assert table.get("gpt-4o") is known  # configured routes win
    claude = table.get("claude-3-5-sonnet")
    assert claude.deployments == (Deployment("anthropic", "claude-3-5-sonnet"),)
    assert table.get("o3-mini").deployments[0].provider == "openai"
    assert table.get("gpt-5").deployments[0].provider == "openai"
    with pytest.raises(ModelNotFound):
        table.get("llama3")
    with pytest.raises(ModelNotFound):
        table.get("ollama")  # starts with "o" but not o<digit>
