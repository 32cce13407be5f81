"""The completion callback of a stream, end to end: a real receiver verifies each with
the ``standardwebhooks`` library; retries keep the webhook-id; given-up ones are an
admin's to list and send again; a gateway killed with SIGKILL mid-delivery loses none."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from continuum.providers.codecs.sse import SSEDecoder
from continuum.testing.server import free_port
from tests.sessions.callbacks.conftest import Receiver
from tests.streams.conftest import ADMIN_KEY, KEY, init_token, serving, stream_env

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
PROMPT = "summarise the callback"


async def run_stream(client: httpx.AsyncClient, base: str, **body: Any) -> tuple[str, str]:
    """Init a stream and read it to the end: its id and its text."""
    payload = {"n8nToken": init_token(), "prompt": PROMPT, "model": "local-text", **body}
    answer = (await client.post(f"{base}/init-stream", json=payload)).json()
    stream_url = answer["streamUrl"]
    decoder, text = SSEDecoder(), ""
    async with client.stream("GET", stream_url) as response:
        async for chunk in response.aiter_raw():
            for event in decoder.feed(chunk):
                if event.data != "[DONE]" and event.event == "message" and event.data:
                    text += event.data
    return stream_url.split("/stream/")[1].split("?")[0], text


async def usage_of_plain(client: httpx.AsyncClient, base: str) -> dict[str, int]:
    response = await client.post(
        f"{base}/v1/chat/completions",
        headers={"authorization": f"Bearer {KEY}"},
        json={"model": "local-text", "messages": [{"role": "user", "content": PROMPT}]},
    )
    usage: dict[str, int] = response.json()["usage"]
    return usage


async def settled(client: httpx.AsyncClient, base: str, stream_id: str, state: str) -> Any:
    for _ in range(600):
        response = await client.get(f"{base}/admin/callbacks/msg_{stream_id}", headers=ADMIN)
        if response.status_code == 200 and response.json()["state"] == state:
            return response.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"the callback never became {state}")


async def test_the_callback_arrives_once_signed_with_the_token_counts(tmp_path: Path) -> None:
    env = stream_env(tmp_path, CONTINUUM_ADMIN_KEY=ADMIN_KEY)
    async with Receiver() as receiver, httpx.AsyncClient(timeout=30) as client:
        with serving(env) as base:
            resume = f"{receiver.url}/webhook/resume/abc"
            stream_id, text = await run_stream(
                client, base, resumeUrl=resume, userId="user123", chatId="chat123"
            )
            record = await settled(client, base, stream_id, "delivered")
            usage = await usage_of_plain(client, base)
    assert record["attempts"] == 1 and record["last_status"] == 204
    (got,) = receiver.received
    assert got.id == f"msg_{stream_id}"
    assert got.payload == {  # what Webhook.verify returned: the signature is good
        "userId": "user123",
        "chatId": "chat123",
        "prompt": PROMPT,
        "answer": text,
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
    }


async def test_a_failing_receiver_gets_the_same_webhook_id_until_it_succeeds(
    tmp_path: Path,
) -> None:
    async def fail_twice(n: int, _request: web.Request) -> web.StreamResponse:
        return web.Response(status=500 if n <= 2 else 200)

    env = stream_env(
        tmp_path, CONTINUUM_ADMIN_KEY=ADMIN_KEY, CONTINUUM_CALLBACK_RETRY_DELAYS="0.1,0.1,0.1"
    )
    async with Receiver(behaviour=fail_twice) as receiver, httpx.AsyncClient(timeout=30) as c:
        with serving(env) as base:
            stream_id, _ = await run_stream(c, base, resumeUrl=f"{receiver.url}/hook")
            record = await settled(c, base, stream_id, "delivered")
    assert record["attempts"] == 3
    assert receiver.ids() == [f"msg_{stream_id}"] * 3
    assert all(r.payload is not None for r in receiver.received)  # each verifies


async def test_given_up_callbacks_are_listed_and_sent_again(tmp_path: Path) -> None:
    healthy = False

    async def down_until_fixed(_n: int, _request: web.Request) -> web.StreamResponse:
        return web.Response(status=200 if healthy else 503)

    env = stream_env(
        tmp_path, CONTINUUM_ADMIN_KEY=ADMIN_KEY, CONTINUUM_CALLBACK_RETRY_DELAYS="0.1,0.1"
    )
    async with Receiver(behaviour=down_until_fixed) as receiver, httpx.AsyncClient() as c:
        with serving(env) as base:
            stream_id, _ = await run_stream(c, base, resumeUrl=f"{receiver.url}/hook")
            given_up = await settled(c, base, stream_id, "exhausted")
            assert given_up["attempts"] == 3 and given_up["last_status"] == 503
            listed = (await c.get(f"{base}/admin/callbacks", headers=ADMIN)).json()
            assert [d["id"] for d in listed["data"]] == [f"msg_{stream_id}"]
            assert "answer" not in listed["data"][0]  # no conversation in the admin API
            user = await c.get(
                f"{base}/admin/callbacks", headers={"authorization": f"Bearer {KEY}"}
            )
            assert user.status_code == 403
            healthy = True
            again = await c.post(f"{base}/admin/callbacks/msg_{stream_id}/requeue", headers=ADMIN)
            assert again.status_code == 200 and again.json()["state"] == "pending"
            await settled(c, base, stream_id, "delivered")
            twice = await c.post(f"{base}/admin/callbacks/msg_{stream_id}/requeue", headers=ADMIN)
            assert twice.status_code == 404  # delivered: nothing to send again
            assert (await c.get(f"{base}/admin/callbacks", headers=ADMIN)).json()["data"] == []
    assert receiver.ids() == [f"msg_{stream_id}"] * 4


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    return subprocess.Popen(
        [sys.executable, "-m", "continuum", "serve", "--port", str(port)],
        env={**environment, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _healthy(client: httpx.AsyncClient, base: str) -> None:
    for _ in range(400):
        try:
            if (await client.get(f"{base}/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("continuum serve did not start")


async def test_a_gateway_killed_mid_delivery_delivers_after_restart(tmp_path: Path) -> None:
    """``continuum serve`` (SQLite outbox) is killed while the receiver holds its first
    attempt open; the restarted gateway sends it again, same webhook-id, once its lease
    has lapsed (a 1 s attempt timeout makes that lease 12 s)."""

    async def hold_the_first(n: int, _request: web.Request) -> web.StreamResponse:
        if n == 1:
            await asyncio.sleep(60)  # the doomed gateway is killed while we wait
        return web.Response(status=200)

    env = stream_env(tmp_path, CONTINUUM_CALLBACK_TIMEOUT="1")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with Receiver(behaviour=hold_the_first) as receiver, httpx.AsyncClient() as client:
        first = _serve(env, port)
        try:
            await _healthy(client, base)
            stream_id, text = await run_stream(client, base, resumeUrl=f"{receiver.url}/hook")
            await asyncio.wait_for(receiver.arrived.wait(), 30)
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(10)
        receiver.arrived.clear()
        second = _serve(env, port)
        try:
            await _healthy(client, base)
            await asyncio.wait_for(receiver.arrived.wait(), 60)
        finally:
            second.terminate()
            second.wait(10)
    assert receiver.ids() == [f"msg_{stream_id}"] * 2
    assert json.loads(receiver.received[1].body)["answer"] == text
    assert receiver.received[1].payload is not None
