"""A session's generation through the gateway's pipeline: it fills the buffer with exactly
the text a plain chat gets, runs once however many replicas ask, is recorded in the
ledger, and ends the session with the upstream's error when the stream breaks."""

from __future__ import annotations

import asyncio
from pathlib import Path

from continuum.app import build_gateway
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.stream import collect
from continuum.core.types import ChatRequest, Message
from continuum.errors import UpstreamUnavailable
from continuum.gateway import Gateway
from continuum.sessions import Done, Failed, Piece, SessionSpec
from continuum.settings import Settings
from continuum.testing.scripted import ScriptedProvider, break_after, ok


async def _read_all(gateway: Gateway, session_id: str) -> tuple[str, object]:
    text = []
    async for outcome in gateway.sessions.read(session_id, after=None, idle=5):
        if isinstance(outcome, Piece):
            text.append(outcome.text)
        else:
            return "".join(text), outcome
    raise AssertionError("the log ended without a terminal entry")


def _request(gateway: Gateway, prompt: str, model: str = "local-text") -> ChatRequest:
    return ChatRequest(model=model, messages=[Message(role="user", content=prompt)])


async def test_generation_fills_the_buffer_with_the_plain_answer(tmp_path: Path) -> None:
    gateway = build_gateway(Settings.from_env({"CONTINUUM_DATA_DIR": str(tmp_path)}))
    async with gateway:
        assert gateway.sample_key is not None
        ctx = await gateway.pipeline.open(gateway.sample_key, door="test", prefix="t")
        plain = await collect(gateway.pipeline.chat(ctx, _request(gateway, "tell me a story")))
        info = await gateway.sessions.create(
            SessionSpec(owner=ctx.principal.id, prompt="tell me a story", model="local-text")
        )

        async def events():  # type: ignore[no-untyped-def]
            session_ctx = await gateway.pipeline.open(
                gateway.sample_key, door="session", prefix="s"
            )
            async for event in gateway.pipeline.chat(
                session_ctx, _request(gateway, "tell me a story")
            ):
                yield event

        claims = await asyncio.gather(
            *(gateway.generations.begin(info.id, events) for _ in range(3))
        )
        assert sorted(claims) == [False, False, True]  # exactly one generation runs
        text, end = await _read_all(gateway, info.id)
        assert text == plain.choices[0].text
        assert isinstance(end, Done) and end.output_tokens == plain.usage.completion_tokens
        await gateway.ledger.flush()
        (total,) = await gateway.usage.totals(None)  # the plain chat and the session
        assert total.requests == 2
        assert total.completion_tokens == 2 * plain.usage.completion_tokens


async def test_a_broken_upstream_ends_the_session_failed(tmp_path: Path) -> None:
    provider = ScriptedProvider({"m": [break_after(2, UpstreamUnavailable("gone"))]})
    settings = Settings.from_env({"CONTINUUM_DATA_DIR": str(tmp_path)})
    gateway = build_gateway(settings, providers={"scripted": provider})
    gateway.pipeline.table.add(ModelRoute("flaky", (Deployment("scripted", "m"),)))
    async with gateway:
        assert gateway.sample_key is not None
        ctx = await gateway.pipeline.open(gateway.sample_key, door="session", prefix="s")
        info = await gateway.sessions.create(SessionSpec(owner="x", prompt="p", model="flaky"))
        assert await gateway.generations.begin(
            info.id, lambda: gateway.pipeline.chat(ctx, _request(gateway, "p", "flaky"))
        )
        text, end = await _read_all(gateway, info.id)
        assert text == "a b"
        assert isinstance(end, Failed) and end.code == "upstream_unavailable"


async def test_running_generations_show_in_the_sessions_gauge(tmp_path: Path) -> None:
    from tests.observability.test_metrics import scrape

    provider = ScriptedProvider({"m": [ok("a b c", token_delay=0.2)]})
    settings = Settings.from_env({"CONTINUUM_DATA_DIR": str(tmp_path)})
    gateway = build_gateway(settings, providers={"scripted": provider})
    gateway.pipeline.table.add(ModelRoute("slow", (Deployment("scripted", "m"),)))
    async with gateway:
        assert gateway.sample_key is not None
        ctx = await gateway.pipeline.open(gateway.sample_key, door="session", prefix="s")
        info = await gateway.sessions.create(SessionSpec(owner="x", prompt="p", model="slow"))
        before = await scrape(gateway.metrics)
        assert await gateway.generations.begin(
            info.id, lambda: gateway.pipeline.chat(ctx, _request(gateway, "p", "slow"))
        )
        await asyncio.sleep(0.05)
        during = await scrape(gateway.metrics)
        await _read_all(gateway, info.id)
        for _ in range(200):  # the task's last steps run after the log's end
            if not len(gateway.generations):
                break
            await asyncio.sleep(0.01)
        after = await scrape(gateway.metrics)
    assert before.value("continuum_stream_sessions") == 0
    assert during.value("continuum_stream_sessions") == 1
    assert after.value("continuum_stream_sessions") == 0
