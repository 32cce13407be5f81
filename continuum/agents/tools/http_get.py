"""The ``http_get`` tool: an HTTP GET limited to an allow-list of hosts, in size and time.

Hosts are allowed by rules: ``example.com`` (that host, any port), ``example.com:8080``
(that port only) and ``*.example.com`` (its subdomains, not itself). Redirects are
followed by hand, each hop checked against the rules, so a redirect cannot lead off the
list. The body is read up to ``max_bytes`` (after decompression: a compressed bomb stops
there too); longer bodies are cut and marked ``truncated``. Nothing is sent but the GET:
no cookies are kept between calls, no proxy settings are read from the environment,
and URLs carrying credentials are refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from continuum.agents.tools.base import FunctionTool, ToolError

REDIRECTS = (301, 302, 303, 307, 308)
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$")
_TEXTUAL = ("json", "xml", "javascript", "yaml", "csv", "x-www-form-urlencoded")
USER_AGENT = "Continuum-agent"


@dataclass(frozen=True, slots=True)
class HostRule:
    """One allow-list entry."""

    host: str
    subdomains: bool = False
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostRule:
        """``host``, ``host:port`` or ``*.domain``; raises ``ValueError`` for anything else."""
        subdomains = text.startswith("*.")
        rest = text[2:] if subdomains else text
        if not _HOST.match(rest):
            raise ValueError(
                f"{text!r} is not a host rule; use 'example.com', 'example.com:8080' "
                "or '*.example.com'"
            )
        url = URL(f"http://{rest}")
        port = url.explicit_port
        return cls((url.host or "").lower(), subdomains, port)

    def allows(self, host: str, port: int | None) -> bool:
        host = host.lower().rstrip(".")
        if self.port is not None and port != self.port:
            return False
        if self.subdomains:
            return host.endswith("." + self.host)
        return host == self.host

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{'*.' if self.subdomains else ''}{self.host}{port}"


def _is_text(content_type: str) -> bool:
    return content_type.startswith("text/") or any(kind in content_type for kind in _TEXTUAL)


def http_get_tool(
    allow_hosts: Iterable[str],
    *,
    max_bytes: int = 256 * 1024,
    timeout: float = 10.0,
    max_redirects: int = 3,
) -> FunctionTool:
    """A GET tool limited to ``allow_hosts`` (rules as ``HostRule.parse`` reads them)."""
    rules = tuple(HostRule.parse(text) for text in allow_hosts)

    def check(url: URL) -> None:
        if url.scheme not in ("http", "https"):
            raise ToolError(f"only http and https URLs are allowed, not {url.scheme or 'none'!r}")
        if url.user is not None or url.password is not None:
            raise ToolError("URLs with credentials are not allowed")
        if not url.host or not any(rule.allows(url.host, url.port) for rule in rules):
            allowed = ", ".join(str(rule) for rule in rules) or "none"
            raise ToolError(f"the host {url.host!r} is not allowed (allowed: {allowed})")

    async def fetch(session: aiohttp.ClientSession, url: URL) -> dict[str, Any]:
        for _ in range(max_redirects + 1):
            check(url)
            async with session.get(url, allow_redirects=False) as response:
                location = response.headers.get("Location")
                if response.status in REDIRECTS and location:
                    url = url.join(URL(location))
                    continue
                body = bytearray()
                truncated = False
                async for chunk in response.content.iter_chunked(64 * 1024):
                    room = max_bytes - len(body)
                    if len(chunk) > room:
                        body += chunk[:room]
                        truncated = True
                        break
                    body += chunk
                content_type = response.content_type
                result: dict[str, Any] = {
                    "url": str(url),
                    "status": response.status,
                    "content_type": content_type,
                    "truncated": truncated,
                }
                if _is_text(content_type):
                    try:
                        result["text"] = body.decode(response.charset or "utf-8", "replace")
                    except LookupError:
                        result["text"] = body.decode("utf-8", "replace")
                else:
                    result["text"] = f"(binary content, {len(body)} bytes, not shown)"
                return result
        raise ToolError(f"more than {max_redirects} redirects")

    async def http_get(url: str) -> dict[str, Any]:
        """Fetch a web page or API response with an HTTP GET (allowed hosts only).

        Args:
            url: The absolute http or https URL to fetch.
        """
        try:
            target = URL(url)
        except (ValueError, TypeError):
            raise ToolError(f"{url!r:.200} is not a URL") from None
        if not target.is_absolute():
            raise ToolError(f"{url!r:.200} is not an absolute URL")
        try:
            async with (
                asyncio.timeout(timeout),
                aiohttp.ClientSession(
                    headers={"User-Agent": USER_AGENT},
                    cookie_jar=aiohttp.DummyCookieJar(),
                ) as session,
            ):
                return await fetch(session, target)
        except TimeoutError:
            raise ToolError(f"no complete answer within {timeout} s") from None
        except aiohttp.ClientError as error:
            raise ToolError(f"the request failed: {error}") from None

    return FunctionTool(http_get)
