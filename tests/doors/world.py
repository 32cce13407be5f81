"""The world of the WebSocket doors' and the prompt API's tests: one gateway on a real socket.

Its models: the local ones; scripted ones (``ScriptedProvider``, through
``build_gateway``'s ``providers``) for slow, cut and buggy streams; and ``remote``,
the fake OpenAI upstream, which answers with the words of the prompt, records every
connection it serves, and fails on demand (``fake.script(Fault(...))``). ``remote`` is
also the prompt API's ``default_model``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from continuum.errors import UpstreamError
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream
from continuum.testing.scripted import ScriptedProvider, break_after, ok

KEY = "sk-ws-full-access-000000000001"
ECHO_ONLY = "sk-ws-echo-only-00000000000001"
NOTHING = "sk-ws-no-models-0000000000001"
ADMIN = "sk-ws-admin-key-0000000000001"
# One limited key per test that spends it: limit state lives as long as the gateway.
LIMITED = tuple(f"sk-ws-limited-{i:016d}" for i in range(6))

USERS = f"""
users:
  - {{token: "{KEY}", name: full, permissions: "*", rate_limit: "100000/minute"}}
  - {{token: "{ECHO_ONLY}", name: echo-only, permissions: [local-echo]}}
  - {{token: "{NOTHING}", name: nothing, permissions: []}}
  - {{token: "{ADMIN}", name: admin, permissions: "*", admin: true}}
""" + "".join(
    f'  - {{token: "{key}", name: limited-{i}, permissions: "*", rate_limit: "2/minute"}}\n'
    for i, key in enumerate(LIMITED)
)

WORDS = " ".join(f"w{i}" for i in range(40))
MAX_BODY = 64 * 1024
MAX_BUFFERED = 64 * 1024
MAX_PENDING = 4
PATIENCE = 0.5  # seconds a WebSocket's outbox may stay full


@dataclass
class World:
    url: str
    provider: ScriptedProvider
    fake: FakeUpstream
    data_dir: Path

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    def rows(self) -> list[dict[str, Any]]:
        """Every usage record so far (the ledger is flushed first)."""
        httpx.get(f"{self.url}/usage", headers={"authorization": f"Bearer {KEY}"})
        with sqlite3.connect(self.data_dir / "continuum.db") as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM continuum_usage")]

    def row(self, request_id: str) -> dict[str, Any]:
        (found,) = [r for r in self.rows() if r["request_id"] == request_id]
        return found

    async def wait_row(self, request_id: str) -> dict[str, Any]:
        """The record of ``request_id``, once the gateway has written it (within 5 s)."""
        deadline = time.monotonic() + 5
        while True:
            found = await asyncio.to_thread(self.rows)
            for row in found:
                if row["request_id"] == request_id:
                    return row
            assert time.monotonic() < deadline, f"no usage record for {request_id}"
            await asyncio.sleep(0.02)


def scripted_provider() -> ScriptedProvider:
    return ScriptedProvider(
        {
            "slow": [ok(WORDS, token_delay=0.05)],
            "words": [ok(WORDS)],
            "cut": [break_after(2, UpstreamError("the upstream broke"))],
            "bug": [break_after(2, RuntimeError("a bug in a provider"))],
        }
    )


def settings_for(config: Path) -> Settings:
    return Settings.from_env(
        {},
        config_dir=config,
        data_dir=config / "data",
        max_body_bytes=MAX_BODY,
        ws_max_buffered_bytes=MAX_BUFFERED,
        ws_max_pending=MAX_PENDING,
        ws_slow_consumer_seconds=PATIENCE,
    )


def models_yml(upstream: str) -> str:
    remote = f'provider: openai, base_url: "{upstream}/v1", api_key: sk-up, retries: 0'
    scripted = "".join(
        f"  - {{id: {name}, provider: scripted, upstream_model: {name}, retries: 0}}\n"
        for name in ("slow", "words", "cut", "bug")
    )
    return (
        "default_model: remote\n"
        "models:\n"
        "  - {id: local-text, provider: local, upstream_model: text}\n"
        "  - {id: local-echo, provider: local, upstream_model: echo}\n"
        '  - {id: "llama3:latest", provider: local, upstream_model: echo}\n'  # seed 000's model
        f"  - {{id: remote, upstream_model: fake-model, {remote}}}\n" + scripted
    )


def chat(model: str = "local-echo", content: str = "hello there", **settings: Any) -> str:
    """Seed 000's request message (without its token)."""
    message: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if settings:
        message["settings"] = settings
    return orjson.dumps(message).decode()


def with_token(message: str, token: str) -> str:
    return orjson.dumps({"token": token, **orjson.loads(message)}).decode()
