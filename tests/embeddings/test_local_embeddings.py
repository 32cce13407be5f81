"""The local embedding model through the provider interface, and the base64 wire helper."""

from __future__ import annotations

import base64
import json
import math
import os
import struct
import subprocess
import sys
from array import array

import pytest

from continuum.core.routes import Deployment
from continuum.embeddings import from_base64, normalize, shorten, to_base64
from continuum.errors import InvalidRequest, ModelNotFound
from continuum.providers.local import LocalProvider, tokens
from tests.openapi_schemas import assert_matches

EMBED = Deployment("local", "embed")


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def vectors(*texts: str, dimensions: int | None = None) -> list[list[float]]:
    found, _ = await LocalProvider().embed(list(texts), EMBED, dimensions=dimensions)
    return found


async def test_vectors_are_unit_length_and_deterministic() -> None:
    texts = ["the cat sat on the mat", "", "?!", "naïve café — ok?", "x" * 5000]
    first = await vectors(*texts)
    again = await vectors(*texts)  # a new provider, a new cache
    assert first == again
    for vector in first:
        assert len(vector) == 384
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-9)
    assert len({tuple(v) for v in first}) == len(texts)  # different texts, different vectors


def test_vectors_are_the_same_in_every_process() -> None:
    # Python's str hash changes per process; the model must not depend on it.
    script = (
        "import asyncio, json;"
        "from continuum.providers.local import LocalProvider;"
        "from continuum.core.routes import Deployment;"
        "v, _ = asyncio.run(LocalProvider().embed(['hello world'], Deployment('local', 'embed')));"
        "print(json.dumps(v[0]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    (output,) = outputs
    assert len(json.loads(output)) == 384


@pytest.mark.parametrize(
    ("text", "near", "far"),
    [
        ("the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew"),
        ("How do I reset my password?", "password reset steps", "The weather is nice today"),
        ("running shoes for women", "a running shoe for a woman", "tables and indexes"),
        ("quarterly revenue grew", "revenue grew this quarter", "the cat sat on the mat"),
    ],
)
async def test_similar_texts_are_closer_than_unrelated_ones(text: str, near: str, far: str) -> None:
    base, close, distant = await vectors(text, near, far)
    assert cosine(base, close) > cosine(base, distant) + 0.2
    assert cosine(base, base) == pytest.approx(1.0)


async def test_usage_counts_local_tokens() -> None:
    texts = ["Hello, world!", "one two three", ""]
    _, prompt_tokens = await LocalProvider().embed(texts, EMBED)
    assert prompt_tokens == sum(tokens.count(t) for t in texts) == 7


async def test_dimensions_truncate_then_renormalise() -> None:
    (full,) = await vectors("dimensions work like text-embedding-3")
    (short,) = await vectors("dimensions work like text-embedding-3", dimensions=64)
    assert len(short) == 64
    assert math.isclose(math.fsum(x * x for x in short), 1.0, rel_tol=1e-9)
    assert short == pytest.approx(normalize(full[:64]))
    assert shorten(full, 384) == full
    # Truncated vectors still rank: the near text stays nearer.
    base, near, far = await vectors(
        "the cat sat on the mat", "a cat sat on a mat", "quarterly revenue", dimensions=128
    )
    assert cosine(base, near) > cosine(base, far)


@pytest.mark.parametrize("dimensions", [0, -1, 385])
async def test_impossible_dimensions_are_refused(dimensions: int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await vectors("text", dimensions=dimensions)
    assert caught.value.param == "dimensions" and caught.value.status == 400


async def test_big_batches_give_the_same_vectors_off_the_event_loop() -> None:
    texts = [f"document {n} " + "lorem ipsum dolor " * 200 for n in range(20)]  # > 20k chars
    together = await vectors(*texts)
    one_by_one = [(await vectors(text))[0] for text in texts]
    assert together == one_by_one


async def test_chat_and_embedding_models_do_not_mix() -> None:
    provider = LocalProvider()
    # A chat model asked for embeddings: 400, as OpenAI answers it (the model exists).
    with pytest.raises(InvalidRequest) as caught:
        await provider.embed(["x"], Deployment("local", "echo"))
    assert caught.value.param == "model" and caught.value.status == 400
    assert caught.value.code == "model_not_supported"
    from continuum.core.types import ChatRequest, Message, SamplingParams

    request = ChatRequest("m", (Message("user", "hi"),), SamplingParams(), request_id="r")
    with pytest.raises(ModelNotFound, match="embedding model"):
        async for _ in provider.stream_chat(request, EMBED):
            pass


def test_base64_is_little_endian_float32() -> None:
    assert to_base64([1.0, -2.0]) == base64.b64encode(b"\x00\x00\x80?\x00\x00\x00\xc0").decode()
    assert to_base64([]) == ""


async def test_base64_decodes_the_way_the_openai_sdk_does() -> None:
    (vector,) = await vectors("base64 is what the SDK asks for by default")
    encoded = to_base64(vector)
    # openai/lib/_parsing/_embeddings.py without numpy: array("f", b64decode(data)).tolist()
    sdk_view = array("f", base64.b64decode(encoded)).tolist()
    as_float32 = [struct.unpack("<f", struct.pack("<f", x))[0] for x in vector]
    assert sdk_view == as_float32 == from_base64(encoded)
    assert max(abs(a - b) for a, b in zip(sdk_view, vector, strict=True)) < 1e-7
    try:
        import numpy
    except ImportError:
        return  # the SDK's other path needs numpy, which this install does not have
    assert numpy.frombuffer(base64.b64decode(encoded), dtype="float32").tolist() == sdk_view


def test_from_base64_refuses_broken_input() -> None:
    with pytest.raises(ValueError):
        from_base64("AAA=")  # two bytes: not a float32
    with pytest.raises(ValueError):
        from_base64("not base64!")


async def test_a_response_built_from_the_vectors_matches_the_official_schema() -> None:
    provider = LocalProvider()
    found, prompt_tokens = await provider.embed(["one", "two words"], EMBED)
    body = {
        "object": "list",
        "model": "local-embed",
        "data": [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(found)
        ],
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
    assert_matches("CreateEmbeddingResponse", body)
