"""The OpenAI provider's embeddings and seed 004's LLAMA_* generic upstream."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from continuum.app import build_gateway, create_app
from continuum.core.routes import Deployment
from continuum.errors import UpstreamRejected
from continuum.providers.openai import OpenAIProvider
from continuum.providers.openai.llama import llama_routes
from continuum.settings import Settings
from continuum.testing.fake_upstream import fake_openai
from continuum.testing.server import serve_in_thread


async def test_embeddings_through_the_pool() -> None:
    fake = fake_openai(api_key="sk-e")
    with fake.run_in_thread() as url:
        env = {"EMBED_KEY": "sk-e"}
        provider = OpenAIProvider(Settings.from_env(env))
        deployment = Deployment(
            "openai", "embedder", {"base_url": f"{url}/v1", "api_key_env": "EMBED_KEY"}
        )
        try:
            vectors, tokens = await provider.embed(["one", "two words"], deployment)
            assert len(vectors) == 2 and len(vectors[0]) == 8 and tokens == 3
            bad = Deployment("openai", "embedder", {"base_url": f"{url}/v1", "api_key": "nope"})
            with pytest.raises(UpstreamRejected):
                await provider.embed(["x"], bad)
        finally:
            await provider.aclose()
    assert fake.recorder.requests[0].json()["input"] == ["one", "two words"]


def test_llama_env_exposes_listed_models(tmp_path: Path) -> None:
    assert llama_routes(Settings.from_env({})) == []
    fake = fake_openai(api_key="sk-llama", models=("llama-3",))
    with fake.run_in_thread() as url:
        env = {
            "LLAMA_BASE_URL": f"{url}/v1",
            "LLAMA_API_KEY": "sk-llama",
            "LLAMA_MODELS": "llama-3, qwen",
        }
        settings = Settings.from_env(env, data_dir=tmp_path)
        gateway = build_gateway(settings)
        assert {r.id for r in gateway.pipeline.table.routes()} >= {"llama-3", "qwen", "local-echo"}
        with serve_in_thread(create_app(gateway=gateway)) as gateway_url:
            key = gateway.sample_key
            client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
            reply = client.chat.completions.create(
                model="qwen", messages=[{"role": "user", "content": "hi there"}]
            )
            client.close()
    assert reply.choices[0].message.content == "hi there"
    assert fake.recorder.last.json()["model"] == "qwen"


async def test_ollama_embed_and_tags() -> None:
    import httpx

    from continuum.providers.ollama import OllamaProvider
    from continuum.testing.fake_upstream import fake_ollama

    fake = fake_ollama(models=("llama3:latest",))
    with fake.run_in_thread() as url:
        provider = OllamaProvider(Settings.from_env({"OLLAMA_BASE_URL": url}))
        try:
            vectors, tokens = await provider.embed(["a b"], Deployment("ollama", "nomic"))
        finally:
            await provider.aclose()
        async with httpx.AsyncClient() as client:
            tags = (await client.get(f"{url}/api/tags")).json()
    assert len(vectors) == 1 and len(vectors[0]) == 8 and tokens == 2
    assert tags["models"][0]["name"] == "llama3:latest"


@pytest.mark.parametrize("provider_name", ["openai", "ollama", "anthropic"])
async def test_refused_connection_and_total_timeout(provider_name: str) -> None:
    from continuum.core.types import ChatRequest, Message
    from continuum.errors import UpstreamError, UpstreamTimeout
    from continuum.providers import registry
    from continuum.testing.fake_upstream import Fault, fake_anthropic, fake_ollama
    from continuum.testing.server import free_port

    settings = Settings.from_env({})
    provider = registry.BUILTIN[provider_name].build(settings)
    request = ChatRequest("m", (Message("user", "a b c d e f"),))
    suffix = "/v1" if provider_name == "openai" else ""
    refused = Deployment(
        provider_name, "m", {"base_url": f"http://127.0.0.1:{free_port()}{suffix}"}
    )
    try:
        with pytest.raises(UpstreamError) as caught:
            await anext(provider.stream_chat(request, refused))
        assert caught.value.status == 502 and caught.value.retryable
        make = {"openai": fake_openai, "ollama": fake_ollama, "anthropic": fake_anthropic}[
            provider_name
        ]
        fake = make(fault=Fault(chunk_delay=0.05, chunks=30))
        with fake.run_in_thread() as url:
            slow = Deployment(provider_name, "m", {"base_url": f"{url}{suffix}", "timeout": 0.4})
            events = [event async for event in provider.stream_chat(request, slow)]
        assert isinstance(events[-1].error, UpstreamTimeout)  # type: ignore[union-attr]
        assert len(events) >= 2  # some text arrived before the total timeout struck
    finally:
        await provider.aclose()
