"""Errors name the public model id only: never the upstream's address, credentials or names.

Issue 9, items 6 and 9: an upstream timeout said
``'openai/fake-model@http://127.0.0.1:39685/v1' sent nothing within 1 s``, and with
``base_url: http://user:PASSWORD@host/v1`` the client received the password; a
``base_url`` with ``user:pass@`` and an ``api_key`` failed every request with a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from continuum.app import build_gateway, create_app
from continuum.config.models import load_models
from continuum.errors import ConfigError, UpstreamError
from continuum.providers import registry
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream, fake_openai
from continuum.testing.scripted import ScriptedProvider, break_after, fail
from continuum.testing.server import free_port, serve_in_thread

KEY = "sk-no-leaks-000000000000001"
PASSWORD = "S3cretPassw0rd"
UPSTREAM_KEY = "sk-upstream-key-never-shown"
HIDDEN_NAME = "internal-model-name-7"


@dataclass
class Served:
    url: str
    fake: FakeUpstream
    fake_port: str
    dead_port: str

    def chat(self, model: str, stream: bool = False) -> httpx.Response:
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "x"}]}
        headers = {"authorization": f"Bearer {KEY}"}
        return httpx.post(f"{self.url}/v1/chat/completions", json=body, headers=headers)


def leaked(text: str, served: Served) -> list[str]:
    secrets = [PASSWORD, "user:", "127.0.0.1", served.fake_port, served.dead_port]
    secrets += [UPSTREAM_KEY, HIDDEN_NAME, "cut-internal-9", "openai", "scripted", "10.9.8.7"]
    return [secret for secret in secrets if secret in text]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    fake = fake_openai()  # checks no key: the URL's Basic credentials are accepted as they are
    dead_port = str(free_port())
    cut = f"bad gateway at http://user:{PASSWORD}@10.9.8.7:8443/v1 for cut-internal-9"
    echoing = (
        f"upstream said: bad gateway at http://user:{PASSWORD}@10.9.8.7:8443/v1 for {HIDDEN_NAME}"
    )
    provider = ScriptedProvider(
        {
            HIDDEN_NAME: [fail(UpstreamError(f"scripted upstream answered 502: {echoing}"))],
            "cut-internal-9": [
                break_after(2, UpstreamError(f"scripted upstream failed mid-stream: {cut}"))
            ],
            "keyed": [fail(UpstreamError(f"scripted upstream answered 401: bad {UPSTREAM_KEY}"))],
        }
    )
    with fake.run_in_thread() as upstream:
        port = upstream.rsplit(":", 1)[1]
        with_password = upstream.replace("http://", f"http://user:{PASSWORD}@") + "/v1"
        config = tmp_path_factory.mktemp("leaks")
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: leaks, permissions: "*"}}\n'
        )
        (config / "models.yml").write_text(
            "models:\n"
            f'  - {{id: late, provider: openai, upstream_model: "{HIDDEN_NAME}::latency=3",'
            f' base_url: "{with_password}", first_token_timeout: 0.3, retries: 0}}\n'
            f'  - {{id: refused, provider: openai, upstream_model: "{HIDDEN_NAME}",'
            f' base_url: "http://user:{PASSWORD}@127.0.0.1:{dead_port}/v1", retries: 0}}\n'
            f'  - {{id: failing, provider: openai, upstream_model: "{HIDDEN_NAME}::status=500",'
            f' base_url: "{with_password}", retries: 0}}\n'
            f'  - {{id: works, provider: openai, upstream_model: "{HIDDEN_NAME}",'
            f' base_url: "{with_password}"}}\n'
            f"  - {{id: echoing, provider: scripted, upstream_model: {HIDDEN_NAME},"
            f' base_url: "http://user:{PASSWORD}@10.9.8.7:8443/v1"}}\n'
            f"  - {{id: cut, provider: scripted, upstream_model: cut-internal-9,"
            f' base_url: "http://user:{PASSWORD}@10.9.8.7:8443/v1"}}\n'
            f"  - {{id: keyed, provider: scripted, upstream_model: keyed,"
            f' base_url: "http://10.9.8.7:8443/v1", api_key: {UPSTREAM_KEY}}}\n'
        )
        # A provider default key in the environment does not collide with URL credentials.
        settings = Settings.from_env(
            {"OPENAI_API_KEY": "sk-env-default"}, config_dir=config, data_dir=config
        )
        gateway = build_gateway(settings, providers={"scripted": provider})
        with serve_in_thread(create_app(gateway=gateway)) as url:
            yield Served(url, fake, port, dead_port)


@pytest.mark.parametrize(
    ("model", "status"),
    [("late", 504), ("refused", 502), ("failing", 502), ("echoing", 502), ("keyed", 502)],
)
@pytest.mark.parametrize("stream", [False, True])
def test_failures_name_the_public_model_only(
    served: Served, caplog: pytest.LogCaptureFixture, model: str, status: int, stream: bool
) -> None:
    with caplog.at_level(logging.INFO):
        response = served.chat(model, stream)
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    assert f"'{model}'" in message
    assert leaked(response.text, served) == [], message
    assert leaked(str(dict(response.headers)), served) == []
    # The operator sees which deployment failed, with its credentials redacted.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert PASSWORD not in logged and UPSTREAM_KEY not in logged
    assert ("***@" in logged) == (model != "keyed")  # keyed has no credentials in its URL


def test_a_failure_mid_stream_names_the_public_model_only(served: Served) -> None:
    response = served.chat("cut", stream=True)
    last = response.text.strip().split("\n\n")[-1]
    assert "'cut'" in last and "error" in last
    assert leaked(response.text, served) == []


def test_url_credentials_reach_the_upstream_as_basic_auth(served: Served) -> None:
    served.fake.recorder.clear()
    response = served.chat("works")
    assert response.status_code == 200, response.text
    sent = served.fake.recorder.last.headers["authorization"]
    assert sent.startswith("Basic ")  # the URL's, not the environment's default key


def test_url_credentials_and_a_key_are_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "models.yml"
    path.write_text(
        "models:\n  - {id: m, provider: openai, base_url: 'http://u:p@host/v1', api_key: k}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_models(path, registry.BUILTIN)
    assert caught.value.key == "models[0].deployments[0]"
    assert "user:password@" in str(caught.value) and "Fix:" in str(caught.value)
    assert "p@host" not in str(caught.value)


def test_llama_url_credentials_and_key_are_refused_at_start(tmp_path: Path) -> None:
    env = {
        "LLAMA_BASE_URL": "http://u:p@host/v1",
        "LLAMA_API_KEY": "k",
        "LLAMA_MODELS": "x",
    }
    with pytest.raises(ConfigError) as caught:
        build_gateway(Settings.from_env(env, data_dir=tmp_path))
    assert caught.value.key == "LLAMA_BASE_URL"
