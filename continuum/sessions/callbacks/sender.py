"""One signed POST of a callback: aiohttp, no redirects, a deadline, and the SSRF guard
applied to the very addresses the connection uses.

A host that is a literal IP never reaches a resolver, so it is checked here; a name is
checked by ``GuardedResolver`` at connection time, so DNS that changes its answer
between ``/init-stream`` and the delivery (rebinding) is still caught.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from ipaddress import ip_address

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from continuum.net.retry_after import retry_after_seconds
from continuum.net.ssrf import forbidden
from continuum.sessions.callbacks.model import Delivery
from continuum.sessions.callbacks.signing import Signer

USER_AGENT = "Continuum-Webhooks/1"


class BlockedAddress(OSError):
    """The callback host resolved to an address the SSRF guard refuses."""


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default, then refuses forbidden addresses."""

    def __init__(self, *, allow_private: bool = False, inner: AbstractResolver | None = None):
        self._allow_private = allow_private
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ip_address(result["host"].split("%", 1)[0])
            kind = forbidden(address, allow_private=self._allow_private)
            if kind is not None:
                raise BlockedAddress(f"{host} resolves to {address}, a {kind} address")
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt went: the receiver's status if it answered, else the error."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """Posts signed callbacks. Only a 2xx answer within ``timeout`` seconds is success."""

    def __init__(
        self,
        signer: Signer,
        *,
        timeout: float = 15.0,
        allow_private: bool = False,
        resolver: AbstractResolver | None = None,
    ):
        self.timeout = timeout
        self._signer = signer
        self._allow_private = allow_private
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made inside the running loop, on first use
            resolver = GuardedResolver(allow_private=self._allow_private, inner=self._resolver)
            connector = aiohttp.TCPConnector(resolver=resolver, limit=64, ttl_dns_cache=None)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def send(self, delivery: Delivery) -> Attempt:
        """One attempt: sign, post, read the status. Never raises for network failures."""
        try:
            url = URL(delivery.url)
        except (ValueError, TypeError) as error:
            return Attempt(None, f"invalid URL: {error}")
        try:
            literal = ip_address(url.host or "")
        except ValueError:
            literal = None
        if literal is not None:
            kind = forbidden(literal, allow_private=self._allow_private)
            if kind is not None:
                return Attempt(None, f"refused: {literal} is a {kind} address")
        body = delivery.payload.body()
        headers = self._signer.headers(delivery.id, int(time.time()), body)
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        try:
            async with self._client().post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.content.read(64 * 1024)  # a little of the body, then let go
                if 200 <= response.status < 300:
                    return Attempt(response.status)
                retry = retry_after_seconds(response.headers.get("retry-after"))
                return Attempt(response.status, f"HTTP {response.status}", retry)
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, BlockedAddress):
                return Attempt(None, f"refused: {error.os_error}")
            return Attempt(None, f"connection failed: {error.os_error}")
        except TimeoutError:
            return Attempt(None, f"no answer within {self.timeout:g} s")
        except (aiohttp.ClientError, OSError) as error:
            return Attempt(None, f"{type(error).__name__}: {error}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)  # let the connector close its transports
