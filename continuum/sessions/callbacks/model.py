"""The completion callback: its payload (seed 002), its one delivery per stream, its record.

A stream's callback has one id, ``msg_<stream id>``, derived from the stream and
nothing else, so however many times its end is recorded or its delivery retried,
receivers see one ``webhook-id`` (the Standard Webhooks idempotency key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

import orjson

DeliveryState: TypeAlias = Literal["pending", "delivered", "exhausted"]


def delivery_id(session_id: str) -> str:
    """The fixed webhook id of a stream's callback (no ``.``, as the spec requires)."""
    return f"msg_{session_id}"


@dataclass(frozen=True, slots=True)
class CallbackPayload:
    """Seed 002's callback fields; ``error_*`` are set when the generation failed."""

    user_id: str | None
    chat_id: str | None
    prompt: str
    answer: str
    input_tokens: int
    output_tokens: int
    error_code: str | None = None
    error_message: str | None = None

    def body(self) -> bytes:
        """The JSON body: ``{userId, chatId, prompt, answer, input_tokens, output_tokens}``,
        plus ``error: {code, message}`` for a failed generation."""
        data: dict[str, object] = {
            "userId": self.user_id,
            "chatId": self.chat_id,
            "prompt": self.prompt,
            "answer": self.answer,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }
        if self.error_code is not None:
            data["error"] = {"code": self.error_code, "message": self.error_message or ""}
        return orjson.dumps(data)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One logical callback: where it goes and what it says."""

    id: str
    session_id: str
    url: str
    payload: CallbackPayload
    created: float


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A delivery as the outbox keeps it, for the worker and for an admin."""

    delivery: Delivery
    state: DeliveryState
    attempts: int
    next_at: float | None  # when it is due again (pending only)
    last_status: int | None  # the receiver's last HTTP status, if it answered
    last_error: str | None
    updated: float


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery leased to one worker. ``token`` fences the outcome: a worker whose
    lease lapsed and was taken over cannot record over the new holder."""

    delivery: Delivery
    attempts: int  # attempts made before this one
    token: str


class Outbox(Protocol):
    """Durable callback deliveries, leased to one worker at a time."""

    async def enqueue(self, delivery: Delivery) -> bool:
        """Record a delivery, due now. Idempotent on ``delivery.id``: ``False`` if it
        was already there (the first record wins)."""
        ...

    async def claim(self, worker: str, limit: int, lease: float) -> list[Claim]:
        """Lease up to ``limit`` due deliveries to ``worker`` for ``lease`` seconds.
        A leased delivery is not due for anyone else until its lease lapses."""
        ...

    async def delivered(self, claim: Claim, status: int) -> bool:
        """Record success; ``False`` if the claim's lease was lost."""
        ...

    async def retry_later(
        self, claim: Claim, *, delay: float, error: str, status: int | None
    ) -> bool:
        """Record a failed attempt; due again after ``delay`` seconds."""
        ...

    async def exhaust(self, claim: Claim, *, error: str, status: int | None) -> bool:
        """Record the last failed attempt: the delivery is given up and kept for an admin."""
        ...

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        """One delivery's record, in any state."""
        ...

    async def exhausted(self, limit: int = 100) -> list[DeliveryRecord]:
        """Given-up deliveries, newest first (for an admin)."""
        ...

    async def requeue(self, delivery_id: str) -> bool:
        """Make an exhausted delivery due again with fresh attempts (an admin's retry)."""
        ...

    async def aclose(self) -> None: ...
