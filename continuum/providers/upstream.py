"""The pooled HTTP client shared by the HTTP providers, and its failure mapping.

One ``Upstream`` per provider instance holds one ``aiohttp.ClientSession`` (a connection
pool reused across requests; chosen over httpx by measurement, see docs/decisions.md
"Upstream HTTP client"). The session is made on first use, inside the serving loop. ``stream``
opens a request and yields body bytes under three timeouts (connect, first bytes,
total) and turns every transport failure and every upstream error status into an
error of ``continuum.errors`` -- never with the upstream key in the message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from continuum.core.routes import has_credentials
from continuum.errors import (
    ContinuumError,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from continuum.net.retry_after import retry_after_seconds
from continuum.settings import Settings

ErrorMessage = Callable[[Any], str | None]
"""Pulls the human message out of a provider's error body (or None)."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds: to connect, to the first body bytes, for the whole answer (None: unlimited)."""

    connect: float = 10.0
    first_token: float | None = None
    total: float | None = None

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Timeouts:
        total = options.get("timeout")
        return cls(
            connect=float(options.get("connect_timeout") or 10.0),
            first_token=options.get("first_token_timeout") or total,
            total=total,
        )


def api_key(options: Mapping[str, Any], settings: Settings, default: str | None) -> str | None:
    """The key of a deployment: inline, from the variable it names, or the provider default.

    A ``base_url`` with credentials (``user:pass@``, sent as Basic auth) takes no default
    key: the upstream would get two Authorization headers (models.yml refuses an explicit
    key beside such a URL).
    """
    if options.get("api_key"):
        return str(options["api_key"])
    if options.get("api_key_env"):
        return settings.environ.get(str(options["api_key_env"])) or None
    if has_credentials(str(options.get("base_url") or "")):
        return None
    return default


StatusErrors = Mapping[int, Callable[[str], ContinuumError]]
"""A provider's own statuses (Anthropic's 529 "overloaded") and the error each means."""


def status_error(
    status: int,
    message: str,
    provider: str,
    statuses: StatusErrors | None = None,
    retry_after: float | None = None,
) -> ContinuumError:
    """Map an upstream HTTP error status to the gateway's error tree."""
    text = f"{provider} upstream answered {status}: {message}"
    if statuses and status in statuses:
        return statuses[status](text)
    if status in (401, 403):
        # The client did nothing wrong: our credentials for the upstream are bad.
        return UpstreamRejected(
            f"{provider} upstream rejected the gateway's credentials ({status})"
        )
    if status == 429:
        return UpstreamRateLimited(text, retry_after=retry_after)
    if status == 503:
        return UpstreamUnavailable(text)
    if status in (408, 504):
        return UpstreamTimeout(text)
    if status >= 500:
        return UpstreamError(text)
    return UpstreamRejected(text)


def transport_error(error: aiohttp.ClientError, provider: str) -> ContinuumError:
    if isinstance(error, aiohttp.ServerTimeoutError | aiohttp.ConnectionTimeoutError):
        return UpstreamTimeout(f"{provider} upstream timed out ({type(error).__name__})")
    if isinstance(error, aiohttp.ClientConnectorError):
        return UpstreamError(f"{provider} upstream is unreachable")
    return UpstreamError(f"{provider} upstream connection failed ({type(error).__name__})")


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class Upstream:
    """A pooled client for one provider's upstreams."""

    def __init__(
        self, provider: str, error_message: ErrorMessage, statuses: StatusErrors | None = None
    ):
        self.provider = provider
        self._error_message = error_message
        self._statuses = statuses
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No connection cap: every open client stream holds one upstream connection,
            # and a cap would queue streams behind it (2,000 held streams failed at 1,000).
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None)
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _error(self, response: aiohttp.ClientResponse, secret: str | None) -> ContinuumError:
        try:
            body = await response.read()
            message = self._error_message(orjson.loads(body)) if body else None
        except (aiohttp.ClientError, orjson.JSONDecodeError):
            message = None
        text = _scrub(message or response.reason or "error", secret)
        wait = retry_after_seconds(response.headers.get("retry-after"))
        return status_error(response.status, text[:500], self.provider, self._statuses, wait)

    async def stream(
        self,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        timeouts: Timeouts,
        secret: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """POST ``body`` as JSON and yield the response body in pieces as they arrive.

        Raises before the first piece (status errors, connect failures, timeouts);
        failures after it raise too -- the provider turns those into an ``ErrorEvent``.
        Closing the generator early closes the upstream connection at once.
        """
        started = time.monotonic()
        total = started + timeouts.total if timeouts.total else None
        first = started + timeouts.first_token if timeouts.first_token else None
        timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect)
        response: aiohttp.ClientResponse | None = None
        finished = False
        try:
            async with asyncio.timeout_at(_loop_deadline(first, total)):
                try:
                    response = await self.session.post(
                        url, data=orjson.dumps(body), headers=dict(headers), timeout=timeout
                    )
                except ValueError as error:  # aiohttp refusing the request it was given
                    raise UpstreamRejected(
                        f"{self.provider} upstream cannot be asked: the deployment's "
                        f"configuration is invalid ({type(error).__name__})"
                    ) from error
                if response.status >= 400:
                    raise await self._error(response, secret)
            pieces = response.content.iter_any()
            if first is None and total is None:
                # The common case: no timers to arm around every relayed piece.
                async for piece in pieces:
                    yield piece
                finished = True
                return
            deadline = first
            while True:
                try:
                    async with asyncio.timeout_at(_loop_deadline(deadline, total)):
                        piece = await anext(pieces)
                except StopAsyncIteration:
                    finished = True
                    return
                deadline = None
                yield piece
        except TimeoutError:
            raise UpstreamTimeout(f"{self.provider} upstream timed out") from None
        except aiohttp.ClientError as error:
            raise transport_error(error, self.provider) from None
        finally:
            if response is not None:
                if finished:
                    response.release()  # back to the pool for the next request
                else:
                    response.close()  # abandoned mid-answer: drop the connection now


def _loop_deadline(*deadlines: float | None) -> float | None:
    """The earliest of monotonic deadlines, on the loop's clock (None: no deadline)."""
    present = [d for d in deadlines if d is not None]
    if not present:
        return None
    loop = asyncio.get_running_loop()
    return loop.time() + (min(present) - time.monotonic())
