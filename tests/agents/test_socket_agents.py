"""``agent/<name>`` through the WebSocket chat door, which has no agent code of its own."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from websockets.asyncio.client import connect

from tests.agents.stage import FULL_KEY, Stage, staged

AGENTS_YML = 'agents: [{name: "math", model: "local-text", tools: ["calculator"]}]\n'


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    with staged(tmp_path_factory.mktemp("socket-agents"), AGENTS_YML) as running:
        yield running


async def test_an_agent_answers_on_the_chat_socket(stage: Stage) -> None:
    request = {
        "token": FULL_KEY,
        "model": "agent/math",
        "messages": [{"role": "user", "content": "what is 12*(3+4)?"}],
    }
    url = stage.url.replace("http://", "ws://")
    async with connect(f"{url}/v1/chat/completions/ws") as ws:
        await ws.send(orjson.dumps(request))
        chunks = [orjson.loads(await ws.recv())]
        while not chunks[-1]["choices"] or not chunks[-1]["choices"][0]["finish_reason"]:
            chunks.append(orjson.loads(await ws.recv()))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "12*(3+4) = 84"
    assert {c["model"] for c in chunks} == {"agent/math"}
    records = stage.records_of(chunks[0]["id"])
    assert [(r["user_id"], r["door"]) for r in records] == [("full", "ws")] * 2
