"""The callback outbox in Redis: a hash per delivery, a due-time sorted set, a dead set.

    O d:<id>   hash   the delivery (fields below), PEXPIRE ``keep``
    O due      zset   pending deliveries by due time (ms, Redis clock)
    O dead     zset   exhausted deliveries by the time they were given up

A claim moves the delivery's due time to the end of its lease and records the
claim's token in the hash, in one script: until the lease lapses no other worker
finds it due, and once it lapses (the worker died) another does. Outcomes are fenced
by the token. ``RedisSessionStore`` writes deliveries with the same layout from the
script that ends a session.
"""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from continuum.errors import StateUnavailable
from continuum.sessions.callbacks.model import (
    CallbackPayload,
    Claim,
    Delivery,
    DeliveryRecord,
)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: entry, due. ARGV: keep (ms), then field pairs. 1: recorded, 0: already there.
ENQUEUE = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'attempts', 0, 'created', now,
           'next_at', now, 'updated', now, unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
"""
)

# KEYS: due. ARGV: entry prefix, limit, lease (ms), token. Returns a flat list of
# HGETALL replies of the claimed deliveries.
CLAIM = (
    _NOW
    + """
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local entry = ARGV[1] .. id
  if redis.call('HGET', entry, 'state') ~= 'pending' then
    redis.call('ZREM', KEYS[1], id)  -- expired or settled: nothing to send
  else
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
    redis.call('HSET', entry, 'lease', ARGV[4], 'next_at', now + tonumber(ARGV[3]))
    out[#out + 1] = redis.call('HGETALL', entry)
  end
end
return out
"""
)

# KEYS: entry, due, dead. ARGV: token, outcome ('delivered'|'retry'|'exhausted'),
# delay (ms), status ('' for none), error, keep (ms), id. 1: recorded, 0: lease lost.
SETTLE = (
    _NOW
    + """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'lease')
redis.call('HSET', KEYS[1], 'updated', now, 'last_error', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'last_status', ARGV[4]) end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if ARGV[2] == 'retry' then
  local due = now + tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'next_at', due)
  redis.call('ZADD', KEYS[2], due, ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
  return 1
end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
redis.call('HDEL', KEYS[1], 'next_at')
redis.call('ZREM', KEYS[2], ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if ARGV[2] == 'exhausted' then
  redis.call('ZADD', KEYS[3], now, ARGV[7])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]))
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
return 1
"""
)

# KEYS: entry, due, dead. ARGV: id, keep (ms). 1: due again.
REQUEUE = (
    _NOW
    + """
if redis.call('HGET', KEYS[1], 'state') ~= 'exhausted' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'attempts', 0, 'next_at', now, 'updated', now)
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _optional_int(value: str | None) -> int | None:
    return int(value) if value else None


def _record(fields: dict[str, str]) -> DeliveryRecord:
    payload = CallbackPayload(
        fields.get("user_id"),
        fields.get("chat_id"),
        fields.get("prompt", ""),
        fields.get("answer", ""),
        int(fields.get("in", 0)),
        int(fields.get("out", 0)),
        fields.get("error_code"),
        fields.get("error_message"),
    )
    delivery = Delivery(
        fields["id"], fields["session"], fields["url"], payload, int(fields["created"]) / 1000
    )
    next_at = _optional_int(fields.get("next_at"))
    return DeliveryRecord(
        delivery,
        fields["state"],  # type: ignore[arg-type]
        int(fields["attempts"]),
        None if next_at is None else next_at / 1000,
        _optional_int(fields.get("last_status")),
        fields.get("last_error") or None,
        int(fields["updated"]) / 1000,
    )


def _pairs(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {_text(k): _text(v) for k, v in raw.items()}
    items = [_text(x) for x in raw]
    return dict(zip(items[::2], items[1::2], strict=True))


class RedisOutbox:
    """``Outbox`` on Redis (see ``continuum.sessions.callbacks.model``)."""

    def __init__(self, client: Redis, *, prefix: str = "continuum:cb:", keep: float = 7 * 86400):
        self.prefix = prefix
        self.keep = keep  # how long a delivery's record lives (must outlast its retries)
        self._client = client
        self._enqueue = client.register_script(ENQUEUE)
        self._claim = client.register_script(CLAIM)
        self._settle = client.register_script(SETTLE)
        self._requeue = client.register_script(REQUEUE)

    def _keys(self, delivery_id: str) -> list[str]:
        return [f"{self.prefix}d:{delivery_id}", f"{self.prefix}due", f"{self.prefix}dead"]

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as error:
            raise StateUnavailable(
                f"the callback outbox is unavailable: {type(error).__name__}"
            ) from None

    async def enqueue(self, delivery: Delivery) -> bool:
        p = delivery.payload
        fields: list[Any] = [
            "id", delivery.id, "session", delivery.session_id, "url", delivery.url,
            "prompt", p.prompt, "answer", p.answer, "in", p.input_tokens, "out", p.output_tokens,
        ]  # fmt: skip
        for name, value in (
            ("user_id", p.user_id),
            ("chat_id", p.chat_id),
            ("error_code", p.error_code),
            ("error_message", p.error_message),
        ):
            if value is not None:
                fields += [name, value]
        keys = self._keys(delivery.id)[:2]
        added = await self._call(self._enqueue, keys, [int(self.keep * 1000), delivery.id, *fields])
        return int(added) == 1

    async def claim(self, worker: str, limit: int, lease: float) -> list[Claim]:
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        rows = await self._call(
            self._claim,
            [f"{self.prefix}due"],
            [f"{self.prefix}d:", limit, int(lease * 1000), token],
        )
        claims = []
        for raw in rows:
            record = _record(_pairs(raw))
            claims.append(Claim(record.delivery, record.attempts, token))
        return claims

    async def _outcome(
        self, claim: Claim, outcome: str, delay: float, status: int | None, error: str
    ) -> bool:
        args = [
            claim.token,
            outcome,
            int(delay * 1000),
            "" if status is None else status,
            error,
            int(self.keep * 1000),
            claim.delivery.id,
        ]
        return int(await self._call(self._settle, self._keys(claim.delivery.id), args)) == 1

    async def delivered(self, claim: Claim, status: int) -> bool:
        return await self._outcome(claim, "delivered", 0, status, "")

    async def retry_later(
        self, claim: Claim, *, delay: float, error: str, status: int | None
    ) -> bool:
        return await self._outcome(claim, "retry", delay, status, error)

    async def exhaust(self, claim: Claim, *, error: str, status: int | None) -> bool:
        return await self._outcome(claim, "exhausted", 0, status, error)

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        try:
            raw = await self._client.hgetall(self._keys(delivery_id)[0])
        except RedisError as error:
            raise StateUnavailable(
                f"the callback outbox is unavailable: {type(error).__name__}"
            ) from None
        return _record(_pairs(raw)) if raw else None

    async def exhausted(self, limit: int = 100) -> list[DeliveryRecord]:
        try:
            ids = await self._client.zrevrange(f"{self.prefix}dead", 0, limit - 1)
            async with self._client.pipeline(transaction=False) as pipe:
                for delivery_id in ids:
                    pipe.hgetall(self._keys(_text(delivery_id))[0])
                rows = await pipe.execute()
        except RedisError as error:
            raise StateUnavailable(
                f"the callback outbox is unavailable: {type(error).__name__}"
            ) from None
        return [_record(_pairs(raw)) for raw in rows if raw]

    async def requeue(self, delivery_id: str) -> bool:
        requeued = await self._call(
            self._requeue, self._keys(delivery_id), [delivery_id, int(self.keep * 1000)]
        )
        return int(requeued) == 1

    async def aclose(self) -> None:
        return None
