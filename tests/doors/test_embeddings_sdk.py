"""``POST /v1/embeddings`` through the official ``openai`` SDK on a real socket.

Against the local model ``local-embed`` (the embedded default) and, through the
gateway, the fake OpenAI and Ollama upstreams. Every body is validated against the
official ``CreateEmbeddingResponse`` schema; a base64 body is validated with its
vectors decoded, since the official schema only describes the float form.
"""

from __future__ import annotations

import asyncio
import base64
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from continuum.app import create_app, open_database
from continuum.core.routes import Deployment
from continuum.errors import SchemaViolation
from continuum.providers.local import LocalProvider
from continuum.settings import Settings
from continuum.store.tables import usage
from continuum.testing.fake_upstream import FakeUpstream, fake_ollama, fake_openai
from continuum.testing.server import serve_in_thread
from tests.conftest import ECHO_KEY, FULL_KEY, Running
from tests.openapi_schemas import assert_matches

TEXTS = ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew"]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def checked(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a ``CreateEmbeddingResponse``; base64 vectors are checked, then decoded."""
    for item in body["data"]:
        if isinstance(item["embedding"], str):
            raw = base64.b64decode(item["embedding"], validate=True)
            assert len(raw) % 4 == 0
            item["embedding"] = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    assert_matches("CreateEmbeddingResponse", body)
    assert [item["index"] for item in body["data"]] == list(range(len(body["data"])))
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"]
    return body


async def local_vectors(*texts: str, dimensions: int | None = None) -> list[list[float]]:
    found, _ = await LocalProvider().embed(
        list(texts), Deployment("local", "embed"), dimensions=dimensions
    )
    return found


@pytest.fixture
def client(gateway: Running) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as made:
        yield made


# -- the local model -------------------------------------------------------------------------


def test_default_encoding_is_base64_on_the_wire_and_decoded_by_the_sdk(
    client: openai.OpenAI,
) -> None:
    raw = client.embeddings.with_raw_response.create(model="local-embed", input=TEXTS[0])
    assert raw.http_request.read().find(b'"encoding_format":"base64"') >= 0
    wire = raw.http_response.json()
    assert isinstance(wire["data"][0]["embedding"], str)  # 384 float32 numbers, base64
    assert len(base64.b64decode(wire["data"][0]["embedding"])) == 384 * 4
    checked(wire)
    parsed = raw.parse()
    assert parsed.model == "local-embed" and parsed.object == "list"
    (expected,) = asyncio.run(local_vectors(TEXTS[0]))
    got = parsed.data[0].embedding
    assert len(got) == 384
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < 1e-6  # float32
    assert parsed.usage.prompt_tokens == 6 == parsed.usage.total_tokens  # 6 words


def test_float_encoding_gives_the_exact_vectors(client: openai.OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="local-embed", input=TEXTS[0], encoding_format="float"
    )
    body = checked(raw.http_response.json())
    (expected,) = asyncio.run(local_vectors(TEXTS[0]))
    assert body["data"][0]["embedding"] == expected
    assert raw.http_response.headers["x-request-id"].startswith("embd-")


def test_a_list_keeps_its_order_and_similar_texts_get_similar_vectors(
    client: openai.OpenAI,
) -> None:
    reply = client.embeddings.create(model="local-embed", input=TEXTS, encoding_format="float")
    vectors = [item.embedding for item in reply.data]
    assert [item.index for item in reply.data] == [0, 1, 2]
    assert vectors == asyncio.run(local_vectors(*TEXTS))
    assert cosine(vectors[0], vectors[1]) > 0.7 > 0.1 > abs(cosine(vectors[0], vectors[2]))
    assert reply.usage.prompt_tokens == 6 + 6 + 3


def test_dimensions_shorten_to_a_unit_prefix(client: openai.OpenAI) -> None:
    full = client.embeddings.create(model="local-embed", input=TEXTS[0], encoding_format="float")
    for encoding in ("float", "base64"):
        raw = client.embeddings.with_raw_response.create(
            model="local-embed", input=TEXTS[0], dimensions=64, encoding_format=encoding
        )
        short = checked(raw.http_response.json())["data"][0]["embedding"]
        assert len(short) == 64
        assert math.isclose(math.fsum(x * x for x in short), 1.0, rel_tol=1e-5)
        prefix = full.data[0].embedding[:64]
        norm = math.sqrt(math.fsum(x * x for x in prefix))
        assert all(
            math.isclose(got, want / norm, rel_tol=1e-4, abs_tol=1e-6)
            for got, want in zip(short, prefix, strict=True)
        )
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="local-embed", input="x", dimensions=385)
    assert caught.value.status_code == 400
    assert_matches("ErrorResponse", caught.value.response.json())
    assert caught.value.body["param"] == "dimensions"  # type: ignore[index]


def test_token_arrays_count_their_ids_and_shared_tokens_come_close(
    client: openai.OpenAI,
) -> None:
    one = client.embeddings.with_raw_response.create(
        model="local-embed", input=[1212, 318, 257, 1332, 13], encoding_format="float"
    )
    body = checked(one.http_response.json())
    assert len(body["data"]) == 1 and body["usage"]["prompt_tokens"] == 5
    many = client.embeddings.create(
        model="local-embed", input=[[1212, 318, 257, 1332, 13], [1212, 318, 257, 1332], [9, 8, 7]]
    )
    assert many.usage.prompt_tokens == 5 + 4 + 3
    a, b, c = (item.embedding for item in many.data)
    assert cosine(a, b) > 0.7 > 0.2 > abs(cosine(a, c))
    assert max(abs(x - y) for x, y in zip(a, body["data"][0]["embedding"], strict=True)) < 1e-6


@pytest.mark.parametrize(
    ("payload", "status", "param"),
    [
        ({"model": "local-embed", "input": ""}, 400, "input"),
        ({"model": "local-embed", "input": []}, 400, "input"),
        ({"model": "local-embed", "input": ["a", 1]}, None, "input"),
        ({"model": "local-embed", "input": [[1, 2], []]}, None, "input"),
        ({"model": "local-embed", "input": [-1, 2]}, 400, "input"),
        ({"model": "local-embed", "input": "x", "encoding_format": "hex"}, None, "encoding_format"),
        ({"model": "local-embed", "input": "x", "dimensions": 0}, None, "dimensions"),
        ({"model": "local-embed", "input": ["x"] * 2049}, 400, "input"),
        ({"input": "x"}, None, "model"),
    ],
)
def test_bad_requests_are_refused_in_the_openai_shape(
    gateway: Running, payload: dict[str, Any], status: int | None, param: str
) -> None:
    reply = httpx.post(
        f"{gateway.v1}/embeddings", json=payload, headers={"authorization": f"Bearer {FULL_KEY}"}
    )
    # None: the field fails the request schema (the error tree's schema-violation status).
    assert reply.status_code == (status or SchemaViolation.status)
    body = reply.json()
    assert_matches("ErrorResponse", body)
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"


def test_models_that_make_no_embeddings_or_are_not_allowed(gateway: Running) -> None:
    with openai.OpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as full:
        with pytest.raises(openai.BadRequestError) as chat_model:
            full.embeddings.create(model="local-echo", input="hello")
        with pytest.raises(openai.NotFoundError) as unknown:
            full.embeddings.create(model="no-such-embedder", input="hello")
    with (
        openai.OpenAI(base_url=gateway.v1, api_key=ECHO_KEY, max_retries=0) as echo_only,
        pytest.raises(openai.NotFoundError) as denied,  # not permitted looks like not there
    ):
        echo_only.embeddings.create(model="local-embed", input="hello")
    assert chat_model.value.body["code"] == "model_not_supported"  # type: ignore[index]
    assert "embeddings" in chat_model.value.message
    for error in (chat_model.value, unknown.value, denied.value):
        assert_matches("ErrorResponse", error.response.json())


async def test_async_client(gateway: Running) -> None:
    async with openai.AsyncOpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as client:
        replies = await asyncio.gather(
            client.embeddings.create(model="local-embed", input=TEXTS),
            client.embeddings.create(model="local-embed", input=TEXTS[2], dimensions=16),
            client.embeddings.create(
                model="local-embed", input=[[5, 6, 7]], encoding_format="float"
            ),
        )
        raw = await client.embeddings.with_raw_response.create(model="local-embed", input=TEXTS)
    expected = await local_vectors(*TEXTS)
    assert all(
        max(abs(a - b) for a, b in zip(item.embedding, want, strict=True)) < 1e-6
        for item, want in zip(replies[0].data, expected, strict=True)
    )
    assert len(replies[1].data[0].embedding) == 16
    assert replies[2].usage.prompt_tokens == 3
    checked(raw.http_response.json())


# -- limits and the ledger ---------------------------------------------------------------------

LIMITED_KEY = "sk-test-embed-limited-0123456789"
LEDGER_KEY = "sk-test-embed-ledger-0123456789"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    config = tmp_path_factory.mktemp("embed-limits")
    (config / "users.yml").write_text(
        f"""
users:
  - {{token: "{LIMITED_KEY}", name: "limited", permissions: "*",
      rate_limit: ["100/minute", "40 tokens/minute"]}}
  - {{token: "{LEDGER_KEY}", name: "ledger", permissions: "*"}}
"""
    )
    settings = Settings.from_env({}, config_dir=config, data_dir=config / "data")
    with serve_in_thread(create_app(settings)) as url:
        yield url, settings


def test_token_limits_count_what_the_model_counted(limited: tuple[str, Settings]) -> None:
    url, _ = limited
    with openai.OpenAI(base_url=f"{url}/v1", api_key=LIMITED_KEY, max_retries=0) as client:
        raw = client.embeddings.with_raw_response.create(model="local-embed", input=[[1] * 10])
        assert raw.http_response.headers["x-ratelimit-limit-tokens"] == "40"
        # Reserved 10, settled with the 10 the model counted: 30 left.
        client.embeddings.create(model="local-embed", input=[[1] * 10])
        with pytest.raises(openai.RateLimitError) as caught:
            client.embeddings.create(model="local-embed", input=[[1] * 25])  # 20 left, 25 asked
    assert_matches("ErrorResponse", caught.value.response.json())
    assert int(caught.value.response.headers["retry-after"]) >= 1


def test_every_request_is_one_ledger_line_from_the_http_door(
    limited: tuple[str, Settings],
) -> None:
    url, settings = limited
    with openai.OpenAI(base_url=f"{url}/v1", api_key=LEDGER_KEY, max_retries=0) as client:
        client.embeddings.create(model="local-embed", input=TEXTS)
        with pytest.raises(openai.BadRequestError):
            client.embeddings.create(model="local-embed", input="x", dimensions=1000)
    report = httpx.get(f"{url}/usage", headers={"authorization": f"Bearer {LEDGER_KEY}"}).json()
    (row,) = [r for r in report["data"] if r["model"] == "local-embed"]
    assert (row["requests"], row["prompt_tokens"], row["completion_tokens"]) == (2, 15, 0)

    async def rows() -> list[Any]:
        database = open_database(settings)
        try:
            async with database.engine.connect() as conn:
                query = select(usage).where(usage.c.user_id == "ledger").order_by(usage.c.id)
                return list((await conn.execute(query)).all())
        finally:
            await database.close()

    found = asyncio.run(rows())
    assert [(r.door, r.status, r.error_code, r.deployment) for r in found] == [
        ("http", 200, None, "local/embed"),
        ("http", 400, "invalid_request", None),  # refused by the model: served by none
    ]
    assert found[0].prompt_tokens == 15 and found[0].ttft_ms is None


# -- the upstreams -----------------------------------------------------------------------------

UPSTREAM_KEY = "sk-upstream-embed-0123"


@pytest.fixture(scope="module")
def upstreams(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, FakeUpstream, FakeUpstream]]:
    oa, ol = fake_openai(api_key=UPSTREAM_KEY), fake_ollama()
    with oa.run_in_thread() as oa_url, ol.run_in_thread() as ol_url:
        config = tmp_path_factory.mktemp("embed-upstreams")
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{FULL_KEY}", name: "full", permissions: "*"}}\n'
        )
        openai_entry = f'provider: openai, base_url: "{oa_url}/v1", api_key: "{UPSTREAM_KEY}"'
        (config / "models.yml").write_text(
            f"""
models:
  - {{id: oa-embed, upstream_model: text-embedding-3-small, {openai_entry}}}
  - {{id: ol-embed, provider: ollama, upstream_model: nomic-embed-text, base_url: "{ol_url}"}}
  - id: falls-back
    retries: 0
    deployments:
      - {{upstream_model: "broken::status=503", {openai_entry}}}
      - {{provider: ollama, upstream_model: nomic-embed-text, base_url: "{ol_url}"}}
  - id: both-broken
    retries: 1
    deployments:
      - {{upstream_model: "broken::status=503", {openai_entry}, weight: 1000000}}
      - {{upstream_model: "broken::status=400", {openai_entry}, weight: 0.000001}}
"""
        )
        settings = Settings.from_env({}, config_dir=config, data_dir=config / "data")
        with serve_in_thread(create_app(settings)) as url:
            yield url, oa, ol


@pytest.fixture
def upstream_client(
    upstreams: tuple[str, FakeUpstream, FakeUpstream],
) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{upstreams[0]}/v1", api_key=FULL_KEY, max_retries=0) as made:
        yield made


def test_openai_upstream_gets_texts_tokens_and_dimensions_as_sent(
    upstreams: tuple[str, FakeUpstream, FakeUpstream], upstream_client: openai.OpenAI
) -> None:
    _, oa, _ = upstreams
    raw = upstream_client.embeddings.with_raw_response.create(model="oa-embed", input=TEXTS)
    body = checked(raw.http_response.json())
    assert body["model"] == "oa-embed" and len(body["data"]) == 3
    assert body["usage"]["prompt_tokens"] == 6 + 6 + 3  # the upstream's count
    sent = oa.recorder.last.json()
    assert sent["model"] == "text-embedding-3-small" and sent["input"] == TEXTS
    short = upstream_client.embeddings.create(
        model="oa-embed", input=TEXTS[0], dimensions=32, encoding_format="float"
    )
    assert oa.recorder.last.json()["dimensions"] == 32 and len(short.data[0].embedding) == 32
    tokens = upstream_client.embeddings.create(model="oa-embed", input=[[1, 2, 3], [4]])
    assert oa.recorder.last.json()["input"] == [[1, 2, 3], [4]]  # passed through as ids
    assert tokens.usage.prompt_tokens == 4 and len(tokens.data) == 2


def test_ollama_upstream_shortens_here_and_refuses_token_arrays(
    upstreams: tuple[str, FakeUpstream, FakeUpstream], upstream_client: openai.OpenAI
) -> None:
    _, _, ol = upstreams
    raw = upstream_client.embeddings.with_raw_response.create(
        model="ol-embed", input=TEXTS, encoding_format="float"
    )
    body = checked(raw.http_response.json())
    sent = ol.recorder.last.json()
    assert sent == {"model": "nomic-embed-text", "input": TEXTS}
    assert body["usage"]["prompt_tokens"] == 15 and len(body["data"][0]["embedding"]) == 8
    short = upstream_client.embeddings.create(model="ol-embed", input=TEXTS[0], dimensions=4)
    vector = short.data[0].embedding
    assert len(vector) == 4 and math.isclose(math.fsum(x * x for x in vector), 1, rel_tol=1e-5)
    assert "dimensions" not in ol.recorder.last.json()
    before = len(ol.recorder.requests)
    with pytest.raises(openai.BadRequestError) as caught:
        upstream_client.embeddings.create(model="ol-embed", input=[[1, 2, 3]])
    assert caught.value.body["param"] == "input"  # type: ignore[index]
    assert len(ol.recorder.requests) == before  # refused before reaching Ollama


def test_a_failing_deployment_falls_back_and_failures_keep_their_status(
    upstreams: tuple[str, FakeUpstream, FakeUpstream], upstream_client: openai.OpenAI
) -> None:
    reply = upstream_client.embeddings.create(model="falls-back", input="hello there")
    assert len(reply.data[0].embedding) == 8  # the Ollama fake's vectors
    with pytest.raises(openai.APIStatusError) as caught:
        upstream_client.embeddings.create(model="both-broken", input="hello there")
    # 503 twice (one retry), then the other deployment's 400: the upstream refused us.
    assert caught.value.status_code == 502 and caught.value.code == "upstream_rejected"
    assert_matches("ErrorResponse", caught.value.response.json())


async def test_async_client_through_both_upstreams(
    upstreams: tuple[str, FakeUpstream, FakeUpstream],
) -> None:
    url = upstreams[0]
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=FULL_KEY, max_retries=0) as client:
        oa, ol = await asyncio.gather(
            client.embeddings.create(model="oa-embed", input=TEXTS[:2]),
            client.embeddings.create(model="ol-embed", input=TEXTS[:2]),
        )
    assert [len(item.embedding) for item in oa.data + ol.data] == [8, 8, 8, 8]
    assert oa.data[0].embedding != oa.data[1].embedding


def test_the_embedded_default_serves_local_embed(tmp_path: Path) -> None:
    # No config at all: the sample key and the default routes, local-embed among them.
    settings = Settings.from_env({}, data_dir=tmp_path)
    with serve_in_thread(create_app(settings)) as url:
        key = (tmp_path / "sample-key").read_text().strip()
        with openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0) as client:
            reply = client.embeddings.create(
                model="local-embed", input=TEXTS[0], encoding_format="float"
            )
    assert reply.data[0].embedding == asyncio.run(local_vectors(TEXTS[0]))[0]
