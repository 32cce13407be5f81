"""The built-in tools: now, scratchpad and http_get (against a real server on a real socket)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest
from aiohttp import web

from continuum.agents.tools import ToolContext, ToolError, ToolSettings, builtin_tools
from continuum.agents.tools.builtins import BUILTIN_TOOLS, HttpGetSettings
from continuum.agents.tools.clock import now_tool
from continuum.agents.tools.http_get import HostRule, http_get_tool
from continuum.agents.tools.scratchpad import scratchpad_tool

FIXED = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # the night Europe/Rome moves to summer time


def test_builtin_set_matches_its_names() -> None:
    assert [t.name for t in builtin_tools()] == list(BUILTIN_TOOLS)


async def test_now_in_utc_and_in_a_zone() -> None:
    now = now_tool(lambda: FIXED)
    utc = orjson.loads(await now.call("{}", ToolContext()))
    assert utc == {
        "iso": "2025-03-30T00:30:00+00:00",
        "timezone": "UTC",
        "weekday": "Sunday",
        "unix": FIXED.timestamp(),
    }
    rome = orjson.loads(await now.call('{"timezone": "Europe/Rome"}', ToolContext()))
    assert rome["iso"] == "2025-03-30T01:30:00+01:00" and rome["timezone"] == "Europe/Rome"
    assert orjson.loads(await now.call('{"timezone": null}', ToolContext()))["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus", "unknown time zone"),
        ("Europe", "unknown time zone"),
        ("../../etc/passwd", "not a time zone name"),
        ("/etc/localtime", "not a time zone name"),
        ("x" * 100, "not a time zone name"),
    ],
)
async def test_now_refuses_what_is_not_a_zone(zone: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        await now_tool(lambda: FIXED).call(orjson.dumps({"timezone": zone}).decode(), ToolContext())


async def test_scratchpad_is_per_conversation_and_bounded() -> None:
    pad = scratchpad_tool(max_keys=2, max_key_chars=5, max_value_chars=10)
    mine, yours = ToolContext(), ToolContext()

    async def use(context: ToolContext, **arguments: object) -> object:
        return orjson.loads(await pad.call(orjson.dumps(arguments).decode(), context))

    assert await use(mine, action="set", key="a", value="one") == {"key": "a", "stored": True}
    assert await use(mine, action="get", key="a") == {"key": "a", "value": "one"}
    assert await use(yours, action="list") == {"keys": []}
    await use(mine, action="set", key="b", value="two")
    await use(mine, action="set", key="a", value="uno")  # replacing is not a new key
    assert await use(mine, action="list") == {"keys": ["a", "b"]}
    with pytest.raises(ToolError, match="full"):
        await use(mine, action="set", key="c", value="three")
    with pytest.raises(ToolError, match="at most 5 characters"):
        await use(mine, action="set", key="toolong", value="x")
    with pytest.raises(ToolError, match="at most 10 characters"):
        await use(mine, action="set", key="a", value="x" * 11)
    with pytest.raises(ToolError, match=r"no note named 'z'; the notes are: \['a', 'b'\]"):
        await use(mine, action="get", key="z")
    with pytest.raises(ToolError, match="get needs a key"):
        await use(mine, action="get")
    with pytest.raises(ToolError, match="set needs a value"):
        await use(mine, action="set", key="a")
    with pytest.raises(ToolError, match="action: Input should be"):
        await use(mine, action="erase", key="a")
    assert await use(mine, action="delete", key="a") == {"key": "a", "deleted": True}
    assert await use(mine, action="delete", key="a") == {"key": "a", "deleted": False}
    assert await use(mine, action="get", key="b") == {"key": "b", "value": "two"}


def test_host_rules() -> None:
    assert HostRule.parse("Example.COM").allows("example.com", 443)
    assert not HostRule.parse("example.com").allows("api.example.com", 443)
    sub = HostRule.parse("*.example.com")
    assert sub.allows("api.example.com", 80) and sub.allows("a.b.example.com.", 80)
    assert not sub.allows("example.com", 80) and not sub.allows("evilexample.com", 80)
    port = HostRule.parse("127.0.0.1:8080")
    assert port.allows("127.0.0.1", 8080) and not port.allows("127.0.0.1", 8081)
    assert HostRule.parse("[::1]:9000").allows("::1", 9000)
    for bad in ("http://example.com", "example.com/path", "*", "a b", "exa_mple.com", ""):
        with pytest.raises(ValueError, match="not a host rule"):
            HostRule.parse(bad)
    with pytest.raises(ValueError, match="not a host rule"):
        HttpGetSettings(allow_hosts=["example.com/x"])


@dataclass
class Site:
    base: str
    port: int
    never: asyncio.Event


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    never = asyncio.Event()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"hello {request.query.get('who', 'world')}")

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * 10_000)

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"y" * 5_000_000),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        )

    async def data(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n", content_type="image/png")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def slow(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response(text="late")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="not here")

    app = web.Application()
    for path, handler in [
        ("/page", page),
        ("/big", big),
        ("/bomb", bomb),
        ("/data", data),
        ("/image", image),
        ("/hop", hop),
        ("/loop", loop),
        ("/slow", slow),
        ("/missing", missing),
    ]:
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield Site(f"http://127.0.0.1:{port}", port, never)
    finally:
        never.set()
        await runner.cleanup()


async def fetch(tool_args: dict[str, object], url: str) -> dict[str, object]:
    tool = http_get_tool(**tool_args)  # type: ignore[arg-type]
    result = orjson.loads(await tool.call(orjson.dumps({"url": url}).decode(), ToolContext()))
    assert isinstance(result, dict)
    return result


async def test_http_get_fetches_allowed_hosts(site: Site) -> None:
    allowed = {"allow_hosts": [f"127.0.0.1:{site.port}"]}
    page = await fetch(allowed, f"{site.base}/page?who=agents")
    assert page == {
        "url": f"{site.base}/page?who=agents",
        "status": 200,
        "content_type": "text/plain",
        "truncated": False,
        "text": "hello agents",
    }
    assert (await fetch(allowed, f"{site.base}/data"))["text"] == '{"ok": true}'
    assert (await fetch(allowed, f"{site.base}/missing"))["status"] == 404
    image = await fetch(allowed, f"{site.base}/image")
    assert image["text"] == "(binary content, 6 bytes, not shown)"
    # Any port when the rule names none.
    assert (await fetch({"allow_hosts": ["127.0.0.1"]}, f"{site.base}/page"))["status"] == 200


async def test_http_get_limits_size_even_when_compressed(site: Site) -> None:
    allowed = {"allow_hosts": ["127.0.0.1"], "max_bytes": 1000}
    big = await fetch(allowed, f"{site.base}/big")
    assert big["truncated"] is True and big["text"] == "x" * 1000
    bomb = await fetch(allowed, f"{site.base}/bomb")
    assert bomb["truncated"] is True and bomb["text"] == "y" * 1000


async def test_http_get_follows_redirects_only_on_the_list(site: Site) -> None:
    allowed = {"allow_hosts": [f"127.0.0.1:{site.port}"]}
    followed = await fetch(allowed, f"{site.base}/hop?to=/page")
    assert followed["url"] == f"{site.base}/page" and followed["text"] == "hello world"
    with pytest.raises(ToolError, match="the host 'localhost' is not allowed"):
        await fetch(allowed, f"{site.base}/hop?to=http://localhost:{site.port}/page")
    with pytest.raises(ToolError, match=r"the host '127\.0\.0\.1' is not allowed"):
        await fetch(allowed, f"{site.base}/hop?to=http://127.0.0.1:{site.port + 1}/page")
    with pytest.raises(ToolError, match="only http and https"):
        await fetch(allowed, f"{site.base}/hop?to=file:///etc/passwd")
    with pytest.raises(ToolError, match="more than 2 redirects"):
        await fetch({**allowed, "max_redirects": 2}, f"{site.base}/loop")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://localhost:1/page", "the host 'localhost' is not allowed"),
        ("ftp://127.0.0.1/x", "only http and https"),
        ("http://user:pw@127.0.0.1/page", "credentials"),
        ("/relative", "not an absolute URL"),
        ("http://[::1", "is not a URL"),
    ],
)
async def test_http_get_refuses_before_connecting(url: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        await fetch({"allow_hosts": ["127.0.0.1"]}, url)


async def test_http_get_with_no_hosts_reaches_nothing() -> None:
    with pytest.raises(ToolError, match=r"not allowed \(allowed: none\)"):
        await fetch({"allow_hosts": []}, "http://127.0.0.1/")


async def test_http_get_times_out_and_reports_connection_errors(site: Site) -> None:
    with pytest.raises(ToolError, match=r"no complete answer within 0\.2 s"):
        await fetch({"allow_hosts": ["127.0.0.1"], "timeout": 0.2}, f"{site.base}/slow")
    with pytest.raises(ToolError, match="the request failed"):
        # Port 9 (discard): a privileged port nothing in the test environment listens on.
        await fetch({"allow_hosts": ["127.0.0.1"]}, "http://127.0.0.1:9/")


async def test_settings_configure_the_builtins() -> None:
    settings = ToolSettings.model_validate(
        {"http_get": {"allow_hosts": ["example.com"]}, "scratchpad": {"max_keys": 1}}
    )
    tools = {t.name: t for t in builtin_tools(settings, clock=lambda: FIXED)}
    context = ToolContext()
    await tools["scratchpad"].call('{"action": "set", "key": "a", "value": "1"}', context)
    with pytest.raises(ToolError, match=r"full \(1 notes\)"):
        await tools["scratchpad"].call('{"action": "set", "key": "b", "value": "2"}', context)
    with pytest.raises(ToolError, match=r"allowed: example.com\)"):
        await tools["http_get"].call('{"url": "http://example.org/"}', context)
    assert "2025-03-30" in await tools["now"].call("{}", context)
