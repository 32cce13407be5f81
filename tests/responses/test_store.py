"""The response store on real SQLite and PostgreSQL, and two gateways sharing one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openai
import orjson
import pytest

from continuum.app import create_app, open_database
from continuum.errors import NotFound
from continuum.responses.store import ResponseStore, StoredResponse
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.openapi_schemas import assert_matches

KEY_A = "sk-store-owner-a-00000000001"
KEY_B = "sk-store-owner-b-00000000001"
USERS = f"""
users:
  - {{token: "{KEY_A}", name: "a", permissions: "*"}}
  - {{token: "{KEY_B}", name: "b", permissions: "*"}}
"""


def stored(response_id: str, text: str = "hi") -> StoredResponse:
    body = orjson.dumps({"id": response_id, "status": "completed", "output": [text]})
    return StoredResponse(response_id, "completed", body, orjson.dumps([{"id": "msg_1"}]))


@pytest.fixture
async def store(database_settings: dict[str, object]) -> AsyncIterator[ResponseStore]:
    database = open_database(Settings.from_env({}, **database_settings))  # type: ignore[arg-type]
    await database.migrate()
    try:
        yield ResponseStore(database)
    finally:
        await database.close()


async def test_round_trip_and_owners(store: ResponseStore) -> None:
    await store.save("key-a", 1.0, stored("resp_1", "ünïcode ✓"))
    got = await store.get("key-a", "resp_1")
    assert got == stored("resp_1", "ünïcode ✓")
    for attempt in (store.get, store.delete):
        with pytest.raises(NotFound):
            await attempt("key-b", "resp_1")  # another key's response does not exist for it
    assert await store.get("key-a", "resp_1") == got  # and it was not deleted
    with pytest.raises(NotFound):
        await store.get("key-a", "resp_missing")
    await store.delete("key-a", "resp_1")
    for attempt in (store.get, store.delete):
        with pytest.raises(NotFound):
            await attempt("key-a", "resp_1")


async def test_a_large_conversation(store: ResponseStore) -> None:
    items = [{"id": f"msg_{i}", "text": "x" * 1000} for i in range(2000)]  # ~2 MB
    big = StoredResponse("resp_big", "completed", b'{"output":[]}', orjson.dumps(items))
    await store.save("key-a", 1.0, big)
    assert orjson.loads((await store.get("key-a", "resp_big")).input) == items


def test_two_gateways_on_one_database_share_responses(
    database_settings: dict[str, object], tmp_path: Path
) -> None:
    """Replicas: a response made through one gateway is read and continued through another."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.yml").write_text(USERS)
    urls = []
    apps = [
        create_app(Settings.from_env({}, config_dir=config, **database_settings))  # type: ignore[arg-type]
        for _ in range(2)
    ]
    with serve_in_thread(apps[0]) as first_url, serve_in_thread(apps[1]) as second_url:
        urls = [first_url, second_url]
        one, two = (openai.OpenAI(base_url=f"{u}/v1", api_key=KEY_A, max_retries=0) for u in urls)
        with one, two:
            made = one.responses.create(model="local-echo", input="made on one")
            assert two.responses.retrieve(made.id).output_text == "made on one"
            follow = two.responses.create(
                model="local-echo", input="continued on two", previous_response_id=made.id
            )
            raw = one.responses.input_items.with_raw_response.list(follow.id, order="asc")
            assert_matches("ResponseItemList", orjson.loads(raw.text))
            texts = [
                i.content[0].text for i in one.responses.input_items.list(follow.id, order="asc")
            ]  # type: ignore[union-attr]
            assert texts == ["made on one", "made on one", "continued on two"]
            other = openai.OpenAI(base_url=f"{urls[1]}/v1", api_key=KEY_B, max_retries=0)
            with other, pytest.raises(openai.NotFoundError):
                other.responses.retrieve(made.id)
            one.responses.delete(made.id)
            with pytest.raises(openai.NotFoundError):
                two.responses.retrieve(made.id)
