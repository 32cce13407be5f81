"""``/v1/responses`` and ``/v1/completions`` routed to every provider, through the fake upstreams.

Each provider's fake (OpenAI, Anthropic, Ollama) sits behind a gateway; the official
``openai`` SDK talks to the gateway, and the fake records what reached it, so a test
sees the translation on both sides. Bodies and events are validated against the
official schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream
from continuum.testing.server import serve_in_thread
from tests.doors.responses_wire import check_stream, post_stream, streamed_text
from tests.openapi_schemas import assert_completion_chunk, assert_matches
from tests.providers.conftest import (
    CASES,
    GATEWAY_KEY,
    UPSTREAM_KEY,
    USERS,
    ProviderCase,
    models_yml,
)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@dataclass
class Routed:
    url: str
    fake: FakeUpstream
    client: openai.OpenAI
    case: ProviderCase

    def last_upstream_body(self) -> Any:
        return self.fake.recorder.requests[-1].json()


@pytest.fixture(scope="module", params=sorted(CASES))
def routed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Routed]:
    case = CASES[request.param]
    fake = case.make_fake(api_key=UPSTREAM_KEY if case.keyed else None)
    with fake.run_in_thread() as upstream_url:
        config = tmp_path_factory.mktemp(f"responses-{case.provider}")
        (config / "users.yml").write_text(USERS)
        (config / "models.yml").write_text(models_yml(case, upstream_url))
        settings = Settings.from_env({}, config_dir=config, data_dir=Path(config))
        with (
            serve_in_thread(create_app(settings)) as url,
            openai.OpenAI(base_url=f"{url}/v1", api_key=GATEWAY_KEY, max_retries=0) as client,
        ):
            yield Routed(url, fake, client, case)


def create(routed: Routed, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(
        routed.client.responses.with_raw_response.create(**body).text
    )
    assert_matches("Response", payload)
    return payload


def test_a_response_and_its_stream(routed: Routed) -> None:
    body = create(routed, model="chat", input="hello from the responses api")
    assert body["status"] == "completed"
    text = body["output"][0]["content"][0]["text"]
    assert text == "hello from the responses api"  # the fakes repeat the last user message
    assert body["usage"]["output_tokens"] > 0
    _, events = post_stream(
        routed.url, GATEWAY_KEY, {"model": "chat", "input": "hello from the responses api"}
    )
    final = check_stream(events)
    assert streamed_text(events) == text == final["output"][0]["content"][0]["text"]


def test_instructions_and_the_previous_turn_reach_the_upstream(routed: Routed) -> None:
    first = routed.client.responses.create(
        model="chat", input="My name is Ada", instructions="Answer in one line."
    )
    second = routed.client.responses.create(
        model="chat", input="What is my name", previous_response_id=first.id
    )
    assert second.output_text == "What is my name"
    sent = json.dumps(routed.last_upstream_body())
    # The first turn's input and output, then the new input; the old instructions are
    # not carried over (as OpenAI documents).
    assert sent.count("My name is Ada") == 2 and "What is my name" in sent
    assert "Answer in one line." not in sent
    routed.client.responses.create(model="chat", input="x", instructions="Answer in one line.")
    assert "Answer in one line." in json.dumps(routed.last_upstream_body())


def test_a_function_call_round_trip(routed: Routed) -> None:
    call_body = create(routed, model="chat", input="use get_weather for Rome", tools=[WEATHER])
    [call] = call_body["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "use get_weather for Rome"}
    answer = create(
        routed,
        model="chat",
        previous_response_id=call_body["id"],
        input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "22C"}],
        tools=[WEATHER],
    )
    assert answer["output"][0]["content"][0]["text"] == "The tool said: 22C"
    _, events = post_stream(
        routed.url,
        GATEWAY_KEY,
        {"model": "chat", "input": "use get_weather for Rome", "tools": [WEATHER]},
    )
    final = check_stream(events)
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    # OpenAI and Anthropic stream arguments in pieces; Ollama sends a call whole.
    assert len(deltas) == (1 if routed.case.provider == "ollama" else 2)
    assert "".join(deltas) == final["output"][0]["arguments"]


def test_an_upstream_failure_mid_stream_fails_the_response(routed: Routed) -> None:
    _, events = post_stream(
        routed.url,
        GATEWAY_KEY,
        {"model": "drops", "input": "one two three four five six seven eight"},
    )
    final = check_stream(events)
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    assert final["status"] == "failed" and final["error"]["code"] == "server_error"
    assert final["output"][0]["status"] == "incomplete"
    assert streamed_text(events) == final["output"][0]["content"][0]["text"] != ""
    # A failed response is stored as failed.
    assert routed.client.responses.retrieve(final["id"]).status == "failed"
    # Before any event, the failure is a status code instead.
    with pytest.raises(openai.APIStatusError) as caught:
        routed.client.responses.create(model="bad-key", input="x", stream=True)
    assert caught.value.status_code == 502


def test_legacy_completions(routed: Routed) -> None:
    raw = routed.client.completions.with_raw_response.create(
        model="chat", prompt="say this is a test", max_tokens=50
    )
    body = json.loads(raw.text)
    assert_matches("CreateCompletionResponse", body)
    assert body["choices"][0]["text"] == "say this is a test"
    chunks = list(
        routed.client.completions.create(
            model="chat", prompt="say this is a test", max_tokens=50, stream=True
        )
    )
    for chunk in chunks:
        assert_completion_chunk(chunk.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].text for c in chunks) == "say this is a test"
    assert chunks[-1].choices[0].finish_reason == "stop"
