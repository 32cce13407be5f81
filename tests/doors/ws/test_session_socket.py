"""``WS /ws/{session_id}`` (seed 003) with the ``websockets`` client on a real socket, on
the memory backend: its message shapes, multi-turn history, errors that leave the
connection usable, keys and owners, usage per turn, and reconnects that resume exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from continuum.testing.fake_upstream import Fault
from tests.doors.world import ECHO_ONLY, KEY, LIMITED, NOTHING, WORDS, World
from tests.doors.ws.sessions_client import (
    Turn,
    message,
    new_session,
    offset,
    read_turn,
    user_message,
)
from tests.doors.ws.test_connection_limits import small_receive_buffer


def url(world: World, session: str, key: str | None = KEY, **query: str) -> str:
    params = dict(query)
    if key is not None:
        params["token"] = key
    tail = "&".join(f"{name}={value}" for name, value in params.items())
    return f"{world.ws}/ws/{session}" + (f"?{tail}" if tail else "")


async def refusal(ws: ClientConnection) -> tuple[dict[str, object], int | None]:
    """The error message of a refused connection, and the close code after it."""
    error = await message(ws)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    rcvd = closed.value.rcvd
    return error, rcvd.code if rcvd else None


async def test_seed_003s_messages_one_token_each_then_the_final_one(world: World) -> None:
    async with connect(url(world, new_session(), model="local-echo")) as ws:
        await ws.send(user_message("привет, агент!"))
        turn = await read_turn(ws)
    *tokens, final = turn.messages
    assert len(tokens) > 1 and turn.text == "привет, агент!"
    for token in tokens:
        assert set(token) == {"type", "token", "is_final", "id"}
        assert (token["type"], token["is_final"]) == ("assistant_message", False)
    assert {k: final[k] for k in ("type", "token", "is_final")} == {
        "type": "assistant_message",
        "token": "",
        "is_final": True,
    }
    # Each message's id is its position in the turn's buffer: 1, 2, 3… then the end.
    assert [offset(m["id"]) for m in turn.messages] == list(range(1, len(turn.messages) + 1))


async def test_a_conversation_keeps_its_history(world: World) -> None:
    """local-text's answer is drawn from every message it is given: the second answer is
    the one the whole conversation gets from /v1/chat/completions, not the one its last
    message alone gets."""
    session = new_session()
    async with connect(url(world, session, model="local-text")) as ws:
        await ws.send(user_message("tell me about gateways"))
        first = (await read_turn(ws)).text
    async with connect(url(world, session, model="local-text")) as ws:  # a new connection
        await ws.send(user_message("and then?"))
        second = await read_turn(ws)
    assert second.final
    client = openai.AsyncOpenAI(base_url=f"{world.url}/v1", api_key=KEY)
    whole = await client.chat.completions.create(
        model="local-text",
        messages=[
            {"role": "user", "content": "tell me about gateways"},
            {"role": "assistant", "content": first},
            {"role": "user", "content": "and then?"},
        ],
    )
    alone = await client.chat.completions.create(
        model="local-text", messages=[{"role": "user", "content": "and then?"}]
    )
    await client.close()
    assert second.text == whole.choices[0].message.content
    assert second.text != alone.choices[0].message.content


async def test_bad_messages_are_errors_and_the_connection_goes_on(world: World) -> None:
    async with connect(url(world, new_session(), model="local-echo")) as ws:
        await ws.send("{not json")
        assert await message(ws) == {
            "type": "error",
            "content": "Invalid JSON message",
            "code": "invalid_json",
        }
        await ws.send('{"type": "user_message"}')
        missing = await message(ws)
        assert missing["type"] == "error" and "content" in missing["content"]
        await ws.send('{"type": "something_else", "content": "x"}')
        assert (await message(ws))["type"] == "error"
        await ws.send(user_message("still here"))
        assert (await read_turn(ws)).text == "still here"


async def test_keys_header_query_and_refusals(world: World) -> None:
    session = new_session()
    headers = {"Authorization": f"Bearer {KEY}"}
    async with connect(
        url(world, session, key=None, model="local-echo"), additional_headers=headers
    ) as ws:
        await ws.send(user_message("by header"))
        assert (await read_turn(ws)).text == "by header"
    for key in (None, "sk-not-a-key"):
        async with connect(url(world, session, key=key)) as ws:
            error, code = await refusal(ws)
        assert (error["type"], error["code"], code) == ("error", "invalid_api_key", 1008)
    # Another key cannot join the session, and learns no more than for an unknown one.
    async with connect(url(world, session, key=ECHO_ONLY)) as ws:
        error, code = await refusal(ws)
    assert (error["code"], code) == ("session_not_found", 1008)
    assert session in str(error["content"]) and "ECHO" not in str(error["content"])
    async with connect(url(world, "x" * 257)) as ws:  # ids are bounded
        error, code = await refusal(ws)
    assert code == 1008 and error["type"] == "error"


async def test_models_unknown_forbidden_limited_and_failing(world: World) -> None:
    async with connect(url(world, new_session(), key=ECHO_ONLY)) as ws:
        for model in ("local-text", "no-such-model"):  # forbidden looks like unknown
            await ws.send(user_message("hi", model=model))
            error = await message(ws)
            assert (error["type"], error["code"]) == ("error", "model_not_found")
        await ws.send(user_message("allowed", model="local-echo"))
        assert (await read_turn(ws)).text == "allowed"
    async with connect(url(world, new_session(), key=NOTHING)) as ws:
        await ws.send(user_message("hi"))  # the default model, which this key may not use
        assert (await message(ws))["code"] == "model_not_found"
    async with connect(url(world, new_session(), key=LIMITED[5], model="local-echo")) as ws:
        for _ in range(2):  # 2/minute
            await ws.send(user_message("once more"))
            assert (await read_turn(ws)).final
        await ws.send(user_message("once too many"))
        limited = await read_turn(ws)
        (error,) = limited.messages
        assert (error["type"], error["code"]) == ("error", "rate_limit_exceeded")
    async with connect(url(world, new_session(), model="cut")) as ws:
        await ws.send(user_message("break"))
        broken = await read_turn(ws)  # two tokens, then the upstream's error
        assert broken.text == "a b" and broken.messages[-1]["type"] == "error"
        assert broken.messages[-1]["content"] == "the upstream broke"
        await ws.send(user_message("again", model="local-echo"))
        assert (await read_turn(ws)).text == "again"


async def test_every_turn_is_in_the_usage_ledger(world: World) -> None:
    def turns() -> int:
        return sum(1 for r in world.rows() if r["door"] == "ws-session" and r["status"] == 200)

    before = await asyncio.to_thread(turns)
    async with connect(url(world, new_session(), model="local-echo")) as ws:
        for content in ("one", "two"):
            await ws.send(user_message(content))
            assert (await read_turn(ws)).final
    deadline = asyncio.get_running_loop().time() + 5
    while await asyncio.to_thread(turns) < before + 2:
        assert asyncio.get_running_loop().time() < deadline, "the turns were not recorded"
        await asyncio.sleep(0.02)
    assert await asyncio.to_thread(turns) == before + 2


async def test_a_reconnect_with_the_last_id_gets_exactly_the_rest(world: World) -> None:
    session = new_session()
    async with connect(url(world, session, model="slow")) as ws:  # 40 words, 50 ms apart
        await ws.send(user_message("count"))
        head = await read_turn(ws, limit=5)
    assert head.last_id is not None
    async with connect(url(world, session, last_event_id=head.last_id)) as ws:
        rest = await read_turn(ws)
    assert rest.final and head.text + rest.text == WORDS
    assert offset(rest.messages[0]["id"]) == offset(head.last_id) + 1
    # The turn is over: a client that had it all gets nothing more, and the next turn.
    async with connect(url(world, session, last_event_id=rest.last_id or "")) as ws:
        await ws.send(user_message("next", model="local-echo"))
        assert (await read_turn(ws)).text == "next"


async def test_a_reconnect_without_an_id_resumes_where_the_gateway_stopped(world: World) -> None:
    """Without a cursor the gateway resumes after what it wrote to the last connection
    (what was in flight when that one broke is not known to it); the ids of what it sends
    say where that is, and from there on the rest is exact."""
    session = new_session()
    async with connect(url(world, session, model="slow")) as ws:
        await ws.send(user_message("count"))
        await read_turn(ws, limit=3)
    async with connect(url(world, session)) as ws:
        rest = await read_turn(ws)
    assert rest.final
    tail = [offset(m["id"]) for m in rest.messages]
    assert tail[0] >= 3 and tail == list(range(tail[0], 42))  # 40 words, then the end
    assert rest.text == " " + " ".join(WORDS.split(" ")[tail[0] - 1 :])
    # All of it was written to that connection: the next one has nothing to resume.
    async with connect(url(world, session, model="local-echo")) as ws:
        await ws.send(user_message("fresh"))
        assert (await read_turn(ws)).text == "fresh"


async def test_a_stale_cursor_is_an_explicit_reset_then_the_whole_turn(world: World) -> None:
    session = new_session()
    async with connect(url(world, session, model="local-echo")) as ws:
        await ws.send(user_message("old turn"))
        old = await read_turn(ws)
        await ws.send(user_message("new turn"))
        new = await read_turn(ws)
    async with connect(url(world, session, last_event_id=old.messages[0]["id"])) as ws:
        reset = await message(ws)
        again = await read_turn(ws)
    assert (reset["type"], reset["code"]) == ("error", "reset")
    assert again.text == new.text == "new turn" and again.final


async def test_one_turn_at_a_time_and_a_second_client_joins_the_running_one(
    world: World,
) -> None:
    session = new_session()
    async with connect(url(world, session, model="slow")) as first:
        async with connect(url(world, session, model="local-echo")) as idle:
            await first.send(user_message("long"))
            await message(first)  # the turn is running
            await idle.send(user_message("me too"))
            busy = await message(idle)
            assert (busy["type"], busy["code"]) == ("error", "turn_in_progress")
            # A client that connects now is given the running turn, live, to its end.
            async with connect(url(world, session)) as joined:
                whole = await read_turn(joined)
            assert whole.final and whole.text == WORDS
        assert (await read_turn(first)).final


async def test_a_slow_reader_is_closed_at_its_cap_and_resumes_everything(world: World) -> None:
    """A client that stops reading fills its outbox (64 KiB here) and is closed as a slow
    consumer; the turn goes on into the buffer meanwhile, another client of the same
    server is served as usual, and the slow one reconnects to the exact whole answer."""
    host, port = world.url.removeprefix("http://").split(":")
    sock = small_receive_buffer()
    sock.connect((host, int(port)))
    sock.setblocking(False)
    # The fake repeats the word: 5,000 chunks (20 MB) over 5 s, more than the sockets
    # between the gateway and the client can hold.
    word = "x" * 4000
    chunks = 5000
    world.fake.script(Fault(chunks=chunks, chunk_delay=0.001))

    def generated() -> int:
        return sum(1 for r in world.rows() if (r["door"], r["model"]) == ("ws-session", "remote"))

    before = await asyncio.to_thread(generated)
    session = new_session()
    options: dict[str, Any] = {"max_queue": 1, "max_size": None, "compression": None}
    async with connect(url(world, session, model="remote"), sock=sock, **options) as slow:
        await slow.send(user_message(word))
        async with connect(url(world, new_session(), model="local-echo")) as other:
            await other.send(user_message("unaffected"))
            assert (await read_turn(other)).text == "unaffected"
        # The turn runs to its end although its only client reads nothing (the gateway
        # gives a full outbox 0.5 s: it is closed long before the 5 s answer ends).
        deadline = asyncio.get_running_loop().time() + 30
        while await asyncio.to_thread(generated) == before:
            assert asyncio.get_running_loop().time() < deadline, "the turn did not end"
            await asyncio.sleep(0.05)
        # Then the client reads what had been sent, and the end of the connection: the
        # close frame (1008) when it still fit behind the unread data within the kit's
        # CLOSE_TIMEOUT, else the TCP close alone (this client read nothing for seconds).
        head = Turn()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                head.messages.append(await message(slow))
    if closed.value.rcvd is not None:
        assert closed.value.rcvd.code == 1008 and "slow consumer" in closed.value.rcvd.reason
    assert 0 < len(head.messages) < chunks and head.last_id is not None
    async with connect(url(world, session, last_event_id=head.last_id), max_size=None) as ws:
        rest = await read_turn(ws)
    assert rest.final and head.text + rest.text == " ".join([word] * chunks)
