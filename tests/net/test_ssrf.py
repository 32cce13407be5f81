"""The SSRF guard: one case per class of address, hidden IPv4 forms, names, schemes."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from continuum.errors import InvalidRequest
from continuum.net.ssrf import check_url, classify, forbidden

CLASSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "private"),
    ("fd12:3456::1", "private"),
    ("fc00::1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.10", "reserved"),
    ("2001:db8::1", "reserved"),
    ("169.254.169.254", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("168.63.129.16", "metadata"),
    # IPv4 hidden in IPv6.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:10.0.0.1", "private"),
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::", "metadata"),  # 6to4 of 169.254.169.254
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("::7f00:1", "reserved"),  # IPv4-compatible 127.0.0.1
]

PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "kind"), CLASSES)
def test_each_class_of_address_is_named(address: str, kind: str) -> None:
    assert classify(ip_address(address)) == kind
    assert forbidden(ip_address(address)) == kind


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert classify(ip_address(address)) is None


def test_allow_private_lets_all_but_metadata_through() -> None:
    assert forbidden(ip_address("127.0.0.1"), allow_private=True) is None
    assert forbidden(ip_address("::ffff:192.168.0.1"), allow_private=True) is None
    assert forbidden(ip_address("169.254.169.254"), allow_private=True) == "metadata"
    assert forbidden(ip_address("fd00:ec2::254"), allow_private=True) == "metadata"


def fake_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"Name or service not known: {host}")
        return table[host]

    return resolve


DNS = fake_dns(
    {
        "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "internal.example.com": ["10.0.0.7"],
        "sneaky.example.com": ["93.184.216.34", "169.254.169.254"],
        "empty.example.com": [],
        "scoped.example.com": ["fe80::1%eth0"],
    }
)


async def test_a_public_url_passes_with_every_address() -> None:
    found = await check_url("https://hooks.example.com/webhook/123", resolve=DNS)
    assert [str(a) for a in found] == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:5678/webhook", "a loopback address"),
        ("http://[::1]/x", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/x", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a metadata address"),
        ("http://[fd00:ec2::254]/latest", "a metadata address"),
        ("http://internal.example.com/hook", "10.0.0.7, a private address"),
        ("http://sneaky.example.com/hook", "169.254.169.254, a metadata address"),
        ("http://scoped.example.com/hook", "a link-local address"),
        ("http://nowhere.invalid/hook", "does not resolve"),
        ("http://empty.example.com/hook", "does not resolve"),
        ("ftp://hooks.example.com/x", "the scheme must be http or https"),
        ("file:///etc/passwd", "the scheme must be"),
        ("https:///nohost", "no host"),
        ("not a url at all", "the scheme must be"),
        ("http://hooks.example.com:99999/x", "not a valid URL"),
    ],
)
async def test_bad_urls_are_refused_with_the_reason(url: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await check_url(url, resolve=DNS)
    error = refused.value
    assert (error.status, error.param, error.code) == (400, "resumeUrl", "forbidden_url")
    assert words in error.message
    assert error.message.startswith("resumeUrl: ")


async def test_allow_private_admits_local_receivers() -> None:
    found = await check_url("http://127.0.0.1:8080/cb", allow_private=True, resolve=DNS)
    assert [str(a) for a in found] == ["127.0.0.1"]
    await check_url("http://internal.example.com/hook", allow_private=True, resolve=DNS)
    with pytest.raises(InvalidRequest):
        await check_url("http://sneaky.example.com/", allow_private=True, resolve=DNS)


async def test_https_only() -> None:
    with pytest.raises(InvalidRequest, match="must be https"):
        await check_url("http://hooks.example.com/", https_only=True, resolve=DNS)


async def test_numeric_host_forms_are_resolved_then_refused() -> None:
    # The system resolver reads "2130706433" and "127.1" as 127.0.0.1.
    for url in ("http://2130706433/", "http://127.1/", "http://localhost/"):
        with pytest.raises(InvalidRequest, match="loopback"):
            await check_url(url)
