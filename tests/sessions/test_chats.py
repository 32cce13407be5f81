"""Chat sessions (seed 003's /ws/{session_id}) on both backends: history, turns, resume."""

from __future__ import annotations

import pytest

from continuum.errors import InvalidRequest, NotFound, PermissionDenied
from continuum.sessions.model import ChatMessage, Cursor, Piece, Timings
from tests.sessions.conftest import Backend, collect, spec


async def answer(store: object, session_id: str, pieces: list[str]) -> None:
    assert await store.try_start(session_id, "p")  # type: ignore[attr-defined]
    for piece in pieces:
        await store.append(session_id, piece)  # type: ignore[attr-defined]
    await store.complete(session_id, 3, len(pieces))  # type: ignore[attr-defined]


async def test_turns_build_a_shared_history_across_replicas(backend: Backend) -> None:
    a, b = await backend.make(), await backend.make()
    chat = await a.open_chat("demo-session", "alice")
    assert (chat.id, chat.owner, chat.turn, chat.delivered) == ("demo-session", "alice", None, None)
    assert await a.chat_history("demo-session") == []

    turn = await a.begin_turn("demo-session", "привет, агент!", spec("привет, агент!"))
    assert turn.spec.conversation == "demo-session" and turn.state == "pending"
    assert (await b.open_chat("demo-session", "alice")).turn == turn.id
    await answer(b, turn.id, ["Здравствуйте", "!\n", "Чем помочь?"])

    second = await b.begin_turn("demo-session", 'say "two"', spec('say "two"'))
    await answer(a, second.id, ["two/2 ", "\\o/"])
    assert await a.chat_history("demo-session") == [
        ChatMessage("user", "привет, агент!"),
        ChatMessage("assistant", "Здравствуйте!\nЧем помочь?"),  # noqa: RUF001
        ChatMessage("user", 'say "two"'),
        ChatMessage("assistant", "two/2 \\o/"),
    ]


async def test_one_turn_at_a_time(backend: Backend) -> None:
    store = await backend.make()
    await store.open_chat("c", "alice")
    turn = await store.begin_turn("c", "one", spec("one"))
    with pytest.raises(InvalidRequest) as pending:
        await store.begin_turn("c", "two", spec("two"))
    assert pending.value.code == "turn_in_progress"
    await store.try_start(turn.id, "p")
    with pytest.raises(InvalidRequest):
        await store.begin_turn("c", "two", spec("two"))
    await store.fail(turn.id, "upstream broke", "upstream_error")
    await store.begin_turn("c", "two", spec("two"))
    # A failed turn adds no answer to the history.
    assert [m.role for m in await store.chat_history("c")] == ["user", "user"]


async def test_a_dead_producer_does_not_block_the_chat(backend: Backend) -> None:
    store = await backend.make(Timings(lease=0.3, check=0.05))
    await store.open_chat("c", "alice")
    turn = await store.begin_turn("c", "one", spec("one"))
    await store.try_start(turn.id, "doomed")
    await backend.pass_time(0.4)
    again = await store.begin_turn("c", "two", spec("two"))
    assert again.id != turn.id
    outcomes = await collect(store.read(turn.id))
    assert outcomes[-1].code == "producer_lost"  # type: ignore[union-attr]


async def test_a_chat_belongs_to_its_owner(backend: Backend) -> None:
    store = await backend.make()
    await store.open_chat("mine", "alice")
    with pytest.raises(PermissionDenied):
        await store.open_chat("mine", "mallory")
    with pytest.raises(NotFound):
        await store.begin_turn("nobody-opened-this", "hi", spec("hi"))
    with pytest.raises(InvalidRequest):
        await store.open_chat("", "alice")


async def test_a_reconnecting_client_resumes_from_the_delivered_cursor(backend: Backend) -> None:
    a, b = await backend.make(), await backend.make()
    await a.open_chat("c", "alice")
    turn = await a.begin_turn("c", "count", spec("count"))
    await a.try_start(turn.id, "p")
    for piece in ["one ", "two ", "three "]:
        await a.append(turn.id, piece)
    # The first connection sent two tokens, then dropped; its door saved the cursor.
    await a.set_delivered("c", Cursor(turn.epoch, 2))
    await a.append(turn.id, "four")
    await a.complete(turn.id, 1, 4)
    chat = await b.open_chat("c", "alice")
    assert chat.turn == turn.id and chat.delivered == f"{turn.epoch}-2"
    rest = await collect(b.read(chat.turn, chat.delivered))
    assert "".join(o.text for o in rest if isinstance(o, Piece)) == "three four"
    # A new turn starts with no delivered cursor.
    await b.begin_turn("c", "again", spec("again"))
    assert (await a.open_chat("c", "alice")).delivered is None
    await a.set_delivered("gone-chat", "whatever")  # no chat: nothing is made
    with pytest.raises(NotFound):
        await a.begin_turn("gone-chat", "x", spec("x"))


async def test_a_chat_expires_after_its_ttl(backend: Backend) -> None:
    store = await backend.make(Timings(chat_ttl=0.3, check=0.05))
    await store.open_chat("c", "alice")
    await store.begin_turn("c", "hi", spec("hi"))
    await backend.pass_time(0.4)
    assert await store.chat_history("c") == []
    with pytest.raises(NotFound):
        await store.begin_turn("c", "hi", spec("hi"))
    chat = await store.open_chat("c", "bob")  # gone, so anyone may open it afresh
    assert chat.owner == "bob" and chat.turn is None
