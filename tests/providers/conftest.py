"""A gateway in front of each fake upstream, on real sockets, for the provider contract suite.

Each provider gets a fake upstream (requiring its key) and a gateway whose models.yml
has several public ids on that fake: a healthy one, one with the wrong upstream key,
one whose upstream answers late (first_token_timeout), one that drops mid-stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream, fake_anthropic, fake_ollama, fake_openai
from continuum.testing.server import serve_in_thread

GATEWAY_KEY = "sk-gateway-user-0123456789"
UPSTREAM_KEY = "sk-upstream-secret-abcdef"
WRONG_KEY = "sk-upstream-wrong-999999"

USERS = f"""
users:
  - token: "{GATEWAY_KEY}"
    name: "tester"
    permissions: "*"
"""


@dataclass(frozen=True)
class ProviderCase:
    provider: str
    make_fake: Callable[..., FakeUpstream]
    path: str  # the base_url suffix the provider expects
    keyed: bool = True  # whether the upstream checks a key


CASES = {
    "openai": ProviderCase("openai", fake_openai, "/v1"),
    "ollama": ProviderCase("ollama", fake_ollama, ""),
    "anthropic": ProviderCase("anthropic", fake_anthropic, ""),
}


def models_yml(case: ProviderCase, url: str) -> str:
    base = f"{url}{case.path}"

    def entry(model_id: str, upstream: str, key: str = UPSTREAM_KEY, extra: str = "") -> str:
        return (
            f'  - id: "{model_id}"\n    provider: "{case.provider}"\n'
            f'    upstream_model: "{upstream}"\n    base_url: "{base}"\n'
            f'    api_key: "{key}"\n{extra}'
        )

    return "models:\n" + "".join(
        [
            entry("chat", "fake-model"),
            entry("bad-key", "fake-model", key=WRONG_KEY),
            entry("late", "fake-model::latency=3", extra="    first_token_timeout: 0.3\n"),
            entry("drops", "fake-model::drop_after=5"),
            entry("garbled", "fake-model::malformed_after=4"),
            entry("misshapen", "fake-model::wrong_shape_after=5"),
            entry("slow", "fake-model::chunk_delay=0.05,chunks=200"),
        ]
    )


@dataclass
class Stack:
    fake: FakeUpstream
    client: openai.OpenAI
    case: ProviderCase


@pytest.fixture(scope="module", params=sorted(CASES))
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    case = CASES[request.param]
    fake = case.make_fake(api_key=UPSTREAM_KEY if case.keyed else None)
    with fake.run_in_thread() as upstream_url:
        config = tmp_path_factory.mktemp(f"config-{case.provider}")
        (config / "users.yml").write_text(USERS)
        (config / "models.yml").write_text(models_yml(case, upstream_url))
        settings = Settings.from_env({}, config_dir=config, data_dir=Path(config))
        with serve_in_thread(create_app(settings)) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=GATEWAY_KEY, max_retries=0)
            yield Stack(fake, client, case)
            client.close()
