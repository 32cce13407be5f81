"""Limits shared by every replica through Redis: one Lua script, one round trip per check.

The scripts read Redis's own clock (``TIME``), so replicas with skewed clocks still
agree, and check all of a user's limits before changing any, atomically. Times travel
as ``%.17g`` strings: Lua's ``tostring`` keeps 14 digits, 0.1 ms of an epoch time,
which would swallow the step of any limit faster than 10,000 per second.
"""

from __future__ import annotations

import contextlib
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from continuum.core.context import RequestContext
from continuum.core.limits import LimitState, RateLimit, parse_rate_limit
from continuum.errors import StateUnavailable
from continuum.limits import gcra
from continuum.limits.base import Reservation, refused, split_key, state_key

# KEYS: one per limit. ARGV: for each limit, interval (s), window (s), cost.
# Returns {refused_index (0 = admitted), wait (0 when admitted), now, tat1, tat2, ...} as
# strings: the new TATs when admitted, the unchanged ones when refused (for the 429's headers).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local olds, tats = {}, {}
local refused, waited = 0, 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  olds[i] = tat
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local wait = new_tat - window - now
  if refused == 0 and wait > 1e-6 then refused, waited = i, wait end  -- slack: gcra.EPSILON
  tats[i] = new_tat
end
local out = {refused, string.format('%.17g', waited), string.format('%.17g', now)}
for i, key in ipairs(KEYS) do
  if refused == 0 then
    local text = string.format('%.17g', tats[i])
    redis.call('SET', key, text, 'PXAT', math.ceil(tats[i] * 1000) + 1000)
    out[i + 3] = text
  else
    out[i + 3] = string.format('%.17g', olds[i])
  end
end
return out
"""

# KEYS: token limits. ARGV: for each, interval (s), delta (tokens, may be negative).
ADJUST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  tat = tat + tonumber(ARGV[2 * i]) * tonumber(ARGV[2 * i - 1])
  if tat > now then
    redis.call('SET', key, string.format('%.17g', tat), 'PXAT', math.ceil(tat * 1000) + 1000)
  else
    redis.call('DEL', key)
  end
end
return 1
"""


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


class RedisLimiter:
    """GCRA limits in Redis, exact across every replica and worker (one Lua call per check)."""

    def __init__(self, client: Redis, prefix: str = "continuum:rl:"):
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(TAKE)
        self._adjust = client.register_script(ADJUST)

    def reserve(self, ctx: RequestContext, estimated_tokens: int) -> Reservation:
        return Reservation(self, ctx, estimated_tokens)

    async def take(
        self, who: str, limits: tuple[RateLimit, ...], costs: list[int]
    ) -> list[LimitState]:
        keys = [state_key(self._prefix, who, limit) for limit in limits]
        args: list[Any] = []
        for limit, cost in zip(limits, costs, strict=True):
            args += [repr(gcra.interval(limit)), limit.window_seconds, cost]
        try:
            reply = await self._take(keys=keys, args=args)
        except RedisError as error:
            raise StateUnavailable(f"rate limits are unavailable: {type(error).__name__}") from None
        index, now = int(reply[0]), float(reply[2])
        states = [
            gcra.state(float(tat), now, limit) for tat, limit in zip(reply[3:], limits, strict=True)
        ]
        if index:
            raise refused(limits[index - 1], float(reply[1]), states)
        return states

    async def adjust(self, who: str, limits: list[RateLimit], deltas: list[int]) -> None:
        keys = [state_key(self._prefix, who, limit) for limit in limits]
        args: list[Any] = []
        for limit, delta in zip(limits, deltas, strict=True):
            args += [repr(gcra.interval(limit)), delta]
        # Settling is best effort: if Redis is gone, the window refills on its own.
        with contextlib.suppress(RedisError):
            await self._adjust(keys=keys, args=args)

    async def stats(self, who: str | None = None) -> dict[str, list[LimitState]]:
        pattern = f"{self._prefix}{_glob_escape(who)}|*" if who is not None else f"{self._prefix}*"
        keys = [key async for key in self._client.scan_iter(match=pattern, count=500)]
        if not keys:
            return {}
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.time()
            pipe.mget(keys)
            (seconds, micros), values = await pipe.execute()
        now = seconds + micros / 1e6
        out: dict[str, list[LimitState]] = {}
        for key, value in zip(keys, values, strict=True):
            if value is None or float(value) <= now:
                continue  # gone, or fully refilled
            owner, spec = split_key(self._prefix, key.decode() if isinstance(key, bytes) else key)
            out.setdefault(owner, []).append(gcra.state(float(value), now, parse_rate_limit(spec)))
        return out

    async def aclose(self) -> None:
        await self._client.aclose()
