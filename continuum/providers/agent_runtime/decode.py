"""Sans-IO decoding of an agent runtime's SSE reply into core events.

Each ``data:`` event is a JSON object: ``assistant_message`` pieces (``token``) become
``TextDelta``\\ s, the final one (``is_final``) a ``Finish`` and the reply's ``Usage``;
an ``error`` event is mapped by its ``status`` like an HTTP error of any provider.
Events of other types are skipped, so a runtime may send more than this reads.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, Usage
from continuum.errors import ContinuumError, UpstreamError
from continuum.providers.codecs.shape import WRONG_SHAPE, text
from continuum.providers.codecs.sse import SSEDecoder
from continuum.providers.upstream import status_error

PROVIDER = "agent_runtime"


def failure(payload: dict[str, Any]) -> ContinuumError:
    """The error an ``error`` event reports, mapped as its status would be."""
    message = str(payload.get("content") or payload.get("message") or "the reply failed")[:500]
    status = payload.get("status")
    if isinstance(status, int) and 400 <= status <= 599:
        return status_error(status, message, PROVIDER)
    return UpstreamError(f"{PROVIDER} upstream failed mid-stream: {message}")


def message_events(payload: Any) -> tuple[list[Event], bool]:
    """The events of one decoded message, and whether it ended the reply."""
    if not isinstance(payload, dict):
        raise UpstreamError(f"{PROVIDER} upstream sent an event that is not an object")
    kind = payload.get("type")
    if kind == "error":
        raise failure(payload)
    if kind != "assistant_message":
        return [], False
    if not payload.get("is_final"):
        token = text(payload.get("token"))
        return ([TextDelta(token)] if token else []), False
    events: list[Event] = []
    token = text(payload.get("token"))
    if token:
        events.append(TextDelta(token))
    events.append(Finish(text(payload.get("finish_reason")) or "stop"))
    usage = payload.get("usage")
    if isinstance(usage, dict):
        events.append(
            Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        )
    return events, True


class RuntimeDecoder:
    """Bytes in, events out; ``done`` after the final message, ``failure`` on a broken or
    failed stream (the events decoded before it are still returned)."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self.done = False
        self.failure: ContinuumError | None = None

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.failure is not None or self.done:
            return events
        try:
            for sse in self._sse.feed(data):
                try:
                    payload = orjson.loads(sse.data)
                except orjson.JSONDecodeError:
                    raise UpstreamError(f"{PROVIDER} upstream sent a malformed event") from None
                try:
                    decoded, self.done = message_events(payload)
                except WRONG_SHAPE:
                    raise UpstreamError(
                        f"{PROVIDER} upstream sent an event of the wrong shape"
                    ) from None
                events.extend(decoded)
                if self.done:
                    break
        except ValueError as error:  # an over-long line
            self.failure = UpstreamError(f"{PROVIDER} upstream sent a malformed stream: {error}")
        except ContinuumError as error:
            self.failure = error
        return events
