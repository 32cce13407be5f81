"""Refuse URLs that lead into the gateway's own network (server-side request forgery).

A callback URL comes from a caller, and the gateway then sends a request to it. The
host is resolved and *every* address it resolves to is checked (a name may answer one
public and one private address): loopback, private (RFC 1918, unique-local, CGNAT),
link-local, multicast, unspecified, reserved and documentation ranges are refused,
including IPv4 addresses hidden in IPv6 forms (IPv4-mapped ``::ffff:a.b.c.d``, 6to4,
NAT64, IPv4-compatible). ``allow_private`` lets them through for development and
tests; cloud metadata endpoints are refused even then, since nothing legitimate
posts callbacks to them.

Checking a name and connecting later leaves a window for DNS to change its answer
(rebinding); senders close it by checking the addresses they actually connect to
(see ``continuum.sessions.callbacks.sender.GuardedResolver``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import TypeAlias

from yarl import URL

from continuum.errors import InvalidRequest

IPAddress: TypeAlias = IPv4Address | IPv6Address
Resolve: TypeAlias = Callable[[str, int], Awaitable[list[str]]]

# Instance metadata and platform endpoints of the major clouds.
METADATA: frozenset[IPAddress] = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack…
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "168.63.129.16",  # Azure wire server (a public address!)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS DNS over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
    )
)

_V4_RANGES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), kind)
    for net, kind in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "private"),  # carrier-grade NAT, shared address space
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes 255.255.255.255
    )
)

_V6_RANGES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), kind)
    for net, kind in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "reserved"),  # IPv4-compatible, deprecated
        ("64:ff9b:1::/48", "private"),  # local-use NAT64
        ("100::/64", "reserved"),  # discard
        ("2001::/23", "reserved"),  # IETF protocol assignments, Teredo
        ("2001:db8::/32", "reserved"),  # documentation
        ("fc00::/7", "private"),  # unique-local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # site-local, deprecated
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """``None`` for a public address, else why not: ``metadata``, ``loopback``,
    ``private``, ``link-local``, ``multicast``, ``unspecified`` or ``reserved``."""
    if address in METADATA:
        return "metadata"
    if isinstance(address, IPv6Address):
        if address.scope_id:
            address = IPv6Address(str(address).split("%", 1)[0])
        inner = _embedded_ipv4(address)
        if inner is not None:
            return classify(inner)
        ranges: tuple[tuple[IPv4Network | IPv6Network, str], ...] = _V6_RANGES
    else:
        ranges = _V4_RANGES
    for network, kind in ranges:
        if address in network:
            return kind
    return None if address.is_global else "reserved"


def forbidden(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a request may not go to ``address`` (``None``: it may)."""
    kind = classify(address)
    if kind is None or (allow_private and kind != "metadata"):
        return None
    return kind


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_url(
    url: str,
    *,
    allow_private: bool = False,
    https_only: bool = False,
    param: str = "resumeUrl",
    resolve: Resolve = system_resolve,
) -> list[IPAddress]:
    """Check a callback URL: scheme, host, and every address the host resolves to.

    Returns the addresses; raises ``InvalidRequest`` (400, ``param`` names the field,
    code ``forbidden_url``) with the reason otherwise.
    """

    def refuse(reason: str) -> InvalidRequest:
        return InvalidRequest(f"{param}: {reason}", param=param, code="forbidden_url")

    try:
        parsed = URL(url)  # the parser aiohttp itself uses, so both read the same host
        host, port = parsed.host, parsed.port
    except (ValueError, TypeError) as error:
        raise refuse(f"not a valid URL ({error})") from None
    allowed = ("https",) if https_only else ("http", "https")
    if parsed.scheme not in allowed:
        raise refuse(f"the scheme must be {' or '.join(allowed)}")
    if not host:
        raise refuse("the URL has no host")
    port = port or (443 if parsed.scheme == "https" else 80)
    addresses = await _addresses(host, port, resolve, refuse)
    for address in addresses:
        kind = forbidden(address, allow_private=allow_private)
        if kind is not None:
            raise refuse(f"{host} resolves to {address}, a {kind} address")
    return addresses


async def _addresses(
    host: str, port: int, resolve: Resolve, refuse: Callable[[str], InvalidRequest]
) -> list[IPAddress]:
    try:
        return [ip_address(host)]
    except ValueError:
        pass  # a name, not a literal address
    try:
        found = await resolve(host, port)
    except OSError as error:
        raise refuse(f"the host {host!r} does not resolve ({error})") from None
    if not found:
        raise refuse(f"the host {host!r} does not resolve")
    return [ip_address(a.split("%", 1)[0]) for a in found]
