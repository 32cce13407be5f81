"""``WS /ws/{session_id}`` across replicas: two gateways sharing one Redis (a key prefix
of their own per test), each on its own socket. A client connects to replica A, drops
mid-answer and reconnects to A or B while A is still generating; the text it ends with
is exact. The same property runs on one memory-backed gateway.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import openai
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from redis import Redis
from websockets.asyncio.client import connect

from continuum.app import build_gateway, create_app
from continuum.settings import Settings
from continuum.testing.scripted import ScriptedProvider, ok
from continuum.testing.server import serve_in_thread
from tests.doors.world import KEY, USERS
from tests.doors.ws.sessions_client import Turn, new_session, offset, read_turn, user_message

# Words (the scripted model splits at spaces) with newlines, quotes and characters outside the BMP: they must come back intact.
WORDS = [f"w{i}" for i in range(48)] + ["naïve\nline", 'said:"hi"', "🙂🙃", "\\o/"]
TEXT = " ".join(WORDS)
MODELS = """
models:
  - {id: local-text, provider: local, upstream_model: text}
  - {id: local-echo, provider: local, upstream_model: echo}
  - {id: stream, provider: scripted, upstream_model: stream, retries: 0}
"""


def _provider() -> ScriptedProvider:
    return ScriptedProvider({"stream": [ok(TEXT, token_delay=0.01)]})  # ~0.5 s an answer


def _replicas(
    tmp_path: Path, count: int, redis_url: str | None, prefix: str
) -> Iterator[list[str]]:
    (tmp_path / "users.yml").write_text(USERS)
    (tmp_path / "models.yml").write_text(MODELS)
    env = {"CONTINUUM_REDIS_PREFIX": prefix}
    if redis_url is not None:
        env["CONTINUUM_REDIS_URL"] = redis_url
    with ExitStack() as stack:
        urls = []
        for name in "ab"[:count]:
            settings = Settings.from_env(
                env, config_dir=tmp_path, data_dir=tmp_path / f"data-{name}"
            )
            gateway = build_gateway(settings, providers={"scripted": _provider()})
            url = stack.enter_context(serve_in_thread(create_app(gateway=gateway)))
            urls.append(url.replace("http://", "ws://"))
        yield urls


@pytest.fixture(params=["memory", "redis"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Memory: one gateway (both "replicas" are it). Redis: two gateways sharing it."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    if request.param == "memory":
        for urls in _replicas(tmp_path, 1, None, prefix):
            yield urls * 2
        return
    redis_url = request.getfixturevalue("redis_url")
    try:
        for urls in _replicas(tmp_path, 2, redis_url, prefix):
            yield urls
    finally:
        client = Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _token(offset: int) -> str:
    """The scripted model's piece at ``offset`` (1, 2, …): a word, spaced after the first."""
    return ("" if offset == 1 else " ") + WORDS[offset - 1]


def _url(base: str, session: str, **query: str) -> str:
    tail = "".join(f"&{name}={value}" for name, value in query.items())
    return f"{base}/ws/{session}?token={KEY}{tail}"


async def _trial(urls: list[str], cut: int, second: int, with_cursor: bool, wait: int) -> None:
    session = new_session()
    async with connect(_url(urls[0], session, model="stream")) as ws:
        await ws.send(user_message("go"))
        head = await read_turn(ws, limit=cut)  # the turn has begun: the gateway answers
    for _ in range(wait):  # reconnect at once, or a moment later, while A generates
        await asyncio.sleep(0.02)
    query = {"last_event_id": head.last_id} if with_cursor and head.last_id else {}
    async with connect(_url(urls[second], session, **query)) as ws:
        # A next turn, so that a reconnect with nothing to resume is seen as such: what
        # the turn still owed the client comes first, then the echo of "next".
        await ws.send(user_message("next", model="local-echo"))
        rest = await read_turn(ws)
        if rest.text != "next":
            assert (await read_turn(ws)).text == "next"
        else:
            rest = Turn()
    if head.final:
        assert not rest.messages and head.text == TEXT
        return
    if not with_cursor and not rest.messages:
        return  # the gateway had written the whole turn to the connection that left
    assert rest.final, rest.messages[-1:]
    messages = head.messages + rest.messages
    offsets = [offset(m["id"]) for m in messages]
    if with_cursor:  # exact: each entry once, in order
        assert offsets == list(range(1, len(WORDS) + 2))
        assert head.text + rest.text == TEXT
    else:
        # The gateway's own cursor: after what it wrote to the last connection (messages
        # in flight when that broke are not known to be lost). The rest is still a
        # contiguous, exact tail of the turn, and its ids say where it starts.
        tail = [offset(m["id"]) for m in rest.messages]
        assert tail == list(range(tail[0], len(WORDS) + 2))
        assert rest.text == "".join(_token(i) for i in tail[:-1])


def test_a_client_that_drops_resumes_exactly_on_any_replica(replicas: list[str]) -> None:
    with asyncio.Runner() as runner:
        # Each example is a real generation (~0.5 s): no shrinking, the example is reported.
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        @given(
            cut=st.integers(min_value=1, max_value=len(WORDS) + 1),
            second=st.integers(min_value=0, max_value=1),
            with_cursor=st.booleans(),
            wait=st.sampled_from([0, 0, 3, 40]),
        )
        def trial(cut: int, second: int, with_cursor: bool, wait: int) -> None:
            runner.run(asyncio.wait_for(_trial(replicas, cut, second, with_cursor, wait), 30))

        trial()


def test_a_conversation_moves_between_replicas(replicas: list[str]) -> None:
    """Turn one through A, turn two through B: B's answer is the one the whole
    conversation gets from /v1/chat/completions (local-text draws from every message)."""
    questions = ("first question", "second one")

    async def run() -> list[Turn]:
        session = new_session()
        answers = []
        for base, content in zip(replicas, questions, strict=True):
            async with connect(_url(base, session, model="local-text")) as ws:
                await ws.send(user_message(content))
                answers.append(await read_turn(ws))
        return answers

    first, second = asyncio.run(run())
    assert first.final and second.final
    client = openai.OpenAI(base_url=replicas[0].replace("ws://", "http://") + "/v1", api_key=KEY)
    whole = client.chat.completions.create(
        model="local-text",
        messages=[
            {"role": "user", "content": questions[0]},
            {"role": "assistant", "content": first.text},
            {"role": "user", "content": questions[1]},
        ],
    )
    client.close()
    assert second.text == whole.choices[0].message.content


async def test_every_session_connection_ends_when_its_client_leaves(
    replicas: list[str],
) -> None:
    """Twenty clients take a turn at once and close: every connection's handler ends (the
    websocket gauge returns to 0). On Redis a few used to stay behind for good, their
    request's cancellation swallowed below the door, which also held the shutdown."""
    import httpx

    from tests.observability.scrape import Scrape

    url = replicas[0]
    prompt = " ".join(f"t{i}" for i in range(200))

    async def one(i: int) -> None:
        session = f"leave-{uuid.uuid4().hex[:8]}-{i}"
        async with connect(f"{url}/ws/{session}?token={KEY}&model=local-echo", max_size=None) as ws:
            await ws.send(user_message(prompt))
            turn = await read_turn(ws)
            assert turn.text == prompt

    await asyncio.gather(*(one(i) for i in range(20)))
    metrics = url.replace("ws://", "http://") + "/metrics"
    left = -1.0
    async with httpx.AsyncClient() as http:
        for _ in range(100):  # the handlers end right after their clients close
            scrape = Scrape((await http.get(metrics)).text)
            left = scrape.value("continuum_websocket_connections", door="ws-session")
            if left == 0:
                break
            await asyncio.sleep(0.05)
    assert left == 0
