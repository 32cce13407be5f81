"""What the OpenAI request schema cannot say: 64-bit integers, model id length, stop.

From issue 9's reproductions: integers of 2^64 in ``max_tokens``, ``seed`` or an extra
field answered a 500 with a traceback (orjson cannot encode them for the upstream); a
604-character model id with prefix routing on reached the usage ledger, whose column
holds 256 (and stopped the PostgreSQL ledger for good).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream, fake_openai
from continuum.testing.server import serve_in_thread

KEY = "sk-request-bounds-0000000001"
BIG = 2**64


@dataclass
class Served:
    url: str
    fake: FakeUpstream
    data_dir: Path

    def chat(self, **body: object) -> httpx.Response:
        payload = {"messages": [{"role": "user", "content": "hi"}], **body}
        headers = {"authorization": f"Bearer {KEY}"}
        return httpx.post(f"{self.url}/v1/chat/completions", json=payload, headers=headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    fake = fake_openai(api_key="sk-up")
    config = tmp_path_factory.mktemp("bounds")
    with fake.run_in_thread() as upstream:
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: bounds, permissions: "*"}}\n'
        )
        (config / "models.yml").write_text(
            "models:\n"
            f'  - {{id: proxied, provider: openai, base_url: "{upstream}/v1", api_key: sk-up}}\n'
            "  - {id: local-echo, provider: local, upstream_model: echo}\n"
        )
        # Prefix routing on: any "gpt-…" id is routed, as in the reproduction.
        settings = Settings.from_env({}, config_dir=config, data_dir=config, prefix_routing=True)
        with serve_in_thread(create_app(settings)) as url:
            yield Served(url, fake, config)


@pytest.mark.parametrize("model", ["proxied", "local-echo"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"max_tokens": BIG}, "max_tokens"),
        ({"max_completion_tokens": BIG * 4}, "max_completion_tokens"),
        ({"seed": BIG}, "seed"),
        ({"seed": -(BIG * 2)}, "seed"),
        ({"logit_bias_extra": BIG}, "logit_bias_extra"),
        ({"metadata": {"deep": [1, {"x": BIG}]}}, "metadata.deep.1.x"),
        ({"response_format": {"type": "json_object", "n": BIG}}, "response_format.n"),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {"type": "image_url", "image_url": {"url": "data:,", "w": BIG}},
                        ],
                    },
                ]
            },
            "messages.1.content.1.image_url.w",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"type": "integer", "maximum": BIG},
                        },
                    }
                ]
            },
            "tools.0.function.parameters.maximum",
        ),
    ],
)
def test_an_integer_of_64_bits_or_more_is_a_400_naming_it(
    served: Served, model: str, stream: bool, extra: dict[str, object], param: str
) -> None:
    response = served.chat(model=model, stream=stream, **extra)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and "64-bit" in error["message"]
    assert error["type"] == "invalid_request_error"


def test_integers_that_fit_still_reach_the_upstream(served: Served) -> None:
    served.fake.recorder.clear()
    biggest = 2**63 - 1
    response = served.chat(model="proxied", seed=biggest, max_tokens=5, custom=-(2**63))
    assert response.status_code == 200, response.text
    sent = served.fake.recorder.last.json()
    assert (sent["seed"], sent["custom"]) == (biggest, -(2**63))


def test_a_604_character_model_id_is_refused_before_routing(served: Served) -> None:
    long_id = "gpt-" + "x" * 600
    served.fake.recorder.clear()
    response = served.chat(model=long_id)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "model" and "256" in error["message"]
    assert long_id not in response.text  # not echoed back either
    control = served.chat(model="gpt-\u0000x")
    assert control.status_code == 400 and control.json()["error"]["param"] == "model"


@pytest.mark.parametrize("count", [1, 4])
def test_stop_holds_what_the_official_schema_allows(served: Served, count: int) -> None:
    stops = [f"word{i}" for i in range(count)]
    response = served.chat(model="local-echo", stop=stops)
    assert response.status_code == 200, response.text


def test_stop_beyond_the_official_schema_names_stop(served: Served) -> None:
    response = served.chat(model="local-echo", stop=["a", "b", "c", "d", "e"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "stop" and "4" in error["message"]
