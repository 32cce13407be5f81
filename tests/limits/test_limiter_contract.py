"""One contract, every limiter backend: memory and Redis run the same tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from continuum.core.context import Principal, RequestContext
from continuum.core.limits import parse_rate_limits
from continuum.doors.http.headers import ratelimit_headers
from continuum.errors import RateLimited
from continuum.limits.memory import MemoryLimiter
from continuum.limits.redis import RedisLimiter

Limiter = MemoryLimiter | RedisLimiter


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    url = request.getfixturevalue("redis_url")
    backend = RedisLimiter(Redis.from_url(url), prefix=f"test:{uuid.uuid4().hex}:")
    yield backend
    await backend.aclose()


def ctx(*limits: str, user: str = "alice") -> RequestContext:
    return RequestContext("req", Principal(user, user, limits=parse_rate_limits(list(limits))))


async def attempt(
    limiter: Limiter, context: RequestContext, estimate: int = 0, used: int | None = None
) -> bool:
    try:
        async with limiter.reserve(context, estimate) as reservation:
            if used is not None:
                reservation.settle(used)
    except RateLimited:
        return False
    return True


async def test_burst_up_to_the_limit_then_429_with_retry_after(limiter: Limiter) -> None:
    context = ctx("3/second")
    assert [await attempt(limiter, context) for _ in range(3)] == [True, True, True]
    with pytest.raises(RateLimited) as caught:
        async with limiter.reserve(context, 0):
            pass
    assert 0.2 < caught.value.retry_after <= 0.34  # one interval: 1/3 s
    assert "3 requests/second" in caught.value.message


async def test_the_limit_refills_evenly(limiter: Limiter) -> None:
    context = ctx("4/second")
    for _ in range(4):
        assert await attempt(limiter, context)
    assert not await attempt(limiter, context)
    await asyncio.sleep(0.27)
    assert await attempt(limiter, context)
    assert not await attempt(limiter, context)


async def test_no_limits_means_no_check_and_no_headers(limiter: Limiter) -> None:
    context = ctx()
    for _ in range(50):
        assert await attempt(limiter, context)
    assert context.limits == ()


async def test_headers_report_the_tightest_limit(limiter: Limiter) -> None:
    context = ctx("10/minute", "2/second", "1000 tokens/hour")
    assert await attempt(limiter, context, estimate=100, used=100)
    headers = ratelimit_headers(context.limits)
    assert headers["x-ratelimit-limit-requests"] == "2"
    assert headers["x-ratelimit-remaining-requests"] == "1"
    assert headers["x-ratelimit-reset-requests"].endswith("ms")
    assert headers["x-ratelimit-limit-tokens"] == "1000"
    assert headers["x-ratelimit-remaining-tokens"] == "900"
    assert headers["x-ratelimit-reset-tokens"] == "6m0s"


async def test_a_refusal_consumes_nothing_from_the_other_limits(limiter: Limiter) -> None:
    context = ctx("100/minute", "1/minute")
    assert await attempt(limiter, context)
    for _ in range(5):
        assert not await attempt(limiter, context)
    stats = {s.limit.amount: s for s in (await limiter.stats("alice"))["alice"]}
    assert stats[100].used == 1 and stats[1].used == 1


async def test_tokens_reserve_the_estimate_and_settle_with_real_usage(limiter: Limiter) -> None:
    context = ctx("100 tokens/hour")
    assert await attempt(limiter, context, estimate=60, used=10)  # 90 left after the refund
    assert await attempt(limiter, context, estimate=80, used=80)  # 10 left
    assert not await attempt(limiter, ctx("100 tokens/hour"), estimate=20)
    assert await attempt(limiter, ctx("100 tokens/hour"), estimate=10, used=10)
    assert not await attempt(limiter, ctx("100 tokens/hour"), estimate=1)


async def test_usage_beyond_the_estimate_is_charged(limiter: Limiter) -> None:
    assert await attempt(limiter, ctx("100 tokens/hour"), estimate=10, used=95)
    assert not await attempt(limiter, ctx("100 tokens/hour"), estimate=10)


async def test_a_failed_request_gives_its_tokens_back(limiter: Limiter) -> None:
    context = ctx("100 tokens/hour")
    with pytest.raises(RuntimeError):
        async with limiter.reserve(context, 90):
            raise RuntimeError("upstream died before any usage")
    assert await attempt(limiter, ctx("100 tokens/hour"), estimate=90, used=90)


async def test_identities_do_not_share_limits(limiter: Limiter) -> None:
    assert await attempt(limiter, ctx("1/minute", user="a"))
    assert await attempt(limiter, ctx("1/minute", user="b"))
    assert not await attempt(limiter, ctx("1/minute", user="a"))
    assert set(await limiter.stats()) >= {"a", "b"}


async def test_concurrent_requests_admit_exactly_the_limit(limiter: Limiter) -> None:
    results = await asyncio.gather(*(attempt(limiter, ctx("10/minute")) for _ in range(60)))
    assert sum(results) == 10


async def test_stats_show_use_and_forget_refilled_limits(limiter: Limiter) -> None:
    assert await attempt(limiter, ctx("5/second", user="carol"))
    (state,) = (await limiter.stats("carol"))["carol"]
    assert (state.used, state.remaining, state.limit.amount) == (1, 4, 5)
    started = time.monotonic()
    while "carol" in await limiter.stats("carol"):
        assert time.monotonic() - started < 2
        await asyncio.sleep(0.05)


async def test_anonymous_callers_count_by_user_id_then_by_address(limiter: Limiter) -> None:
    anonymous = Principal(
        "anonymous", "anonymous", limits=parse_rate_limits(["1/minute"]), anonymous=True
    )

    def caller(user_id: str | None, client: str | None) -> RequestContext:
        return RequestContext("req", anonymous, client=client, user_id=user_id)

    suffix = uuid.uuid4().hex[:6]
    assert await attempt(limiter, caller(f"u1-{suffix}", "10.0.0.1"))
    assert not await attempt(
        limiter, caller(f"u1-{suffix}", "10.0.0.2")
    )  # same user, other address
    assert await attempt(limiter, caller(f"u2-{suffix}", "10.0.0.1"))  # other user, same address
    assert await attempt(limiter, caller(None, f"192.0.2.{suffix[:2]}"))
    assert not await attempt(limiter, caller(None, f"192.0.2.{suffix[:2]}"))
    assert caller(None, None).subject == "ip:unknown"
    assert RequestContext("r", Principal("alice", "alice"), user_id="ignored").subject == "alice"


async def test_redis_down_fails_closed_with_503() -> None:
    from continuum.errors import StateUnavailable
    from continuum.testing.server import free_port

    limiter = RedisLimiter(Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"))  # nothing listens
    with pytest.raises(StateUnavailable) as caught:
        async with limiter.reserve(ctx("5/second"), 0):
            pass
    assert caught.value.status == 503
    await limiter.aclose()


async def test_redis_keeps_sub_millisecond_steps(redis_url: str) -> None:
    """One token of "1000000 tokens/minute" is a 60 µs step; Lua's 14-digit tostring
    would round an epoch time to 0.1 ms (4 decimals) and lose it."""
    client = Redis.from_url(redis_url)
    prefix = f"test:{uuid.uuid4().hex}:"
    limiter = RedisLimiter(client, prefix=prefix)
    try:
        assert await attempt(limiter, ctx("1000000 tokens/minute"), estimate=1, used=1)
        (key,) = await client.keys(f"{prefix}*")
        raw = await client.get(key)
        assert len(raw.split(b".")[1]) >= 6, raw  # microseconds survive the round trip
    finally:
        await limiter.aclose()
