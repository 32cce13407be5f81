"""Agents served as models by a real gateway over the local models, with the ``openai`` SDK.

The local models use tools deterministically (docs/agents.md, "How the local models use
tools"), so these runs need no provider: a tool call, parallel calls, a failing tool,
bad arguments, the iteration cap, a tool timeout, streaming, agents chained, limits,
permissions, and the ledger's record of every model call under the caller.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.agents.stage import (
    ADMIN_KEY,
    AGENT_AND_MODEL_KEY,
    AGENT_ONLY_KEY,
    FULL_KEY,
    LIMITED_KEY,
    MODEL_ONLY_KEY,
    Stage,
    staged,
)

AGENTS_YML = """
tool_modules: ["tests.agents.sample_tools"]
agents:
  - name: "math"
    model: "local-text"
    system_prompt: "You are a careful calculator."
    tools: ["calculator", "now"]
  - {name: "tools", model: "local-text", tools: ["add", "explode", "meet_a", "meet_b"]}
  - {name: "hanger", model: "local-text", tools: ["hang"], tool_timeout: 0.1}
  - {name: "capped", model: "local-text", tools: ["calculator"], max_iterations: 1}
  - {name: "boss", model: "agent/math", system_prompt: "Delegate."}
  - {name: "busy", model: "local-text", rate_limit: "2/minute"}
  - {name: "slowpoke", model: "local-slow"}
"""
SLOW_MODEL = (
    '  - {id: "local-slow", provider: "local", upstream_model: "text", token_delay: 0.05}\n'
)


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("agents-local")
    with staged(root, AGENTS_YML, models=SLOW_MODEL) as running:
        yield running


def ask(stage: Stage, agent: str, prompt: str, key: str = FULL_KEY) -> tuple[str, str, int, str]:
    with stage.client(key) as client:
        reply = client.chat.completions.create(
            model=f"agent/{agent}", messages=[{"role": "user", "content": prompt}]
        )
    assert reply.usage is not None and reply.choices[0].message.content is not None
    choice = reply.choices[0]
    return (
        choice.message.content or "",
        str(choice.finish_reason),
        reply.usage.total_tokens,
        reply.id,
    )


def test_one_tool_call_and_a_record_per_model_call(stage: Stage) -> None:
    answer, finish, total, request_id = ask(stage, "math", "what is 12*(3+4)?")
    assert (answer, finish, total) == ("12*(3+4) = 84", "stop", 133)
    records = stage.records_of(request_id)
    assert [(r["request_id"], r["user_id"], r["model"], r["door"]) for r in records] == [
        (f"{request_id}-1", "full", "local-text", "http"),
        (f"{request_id}-2", "full", "local-text", "http"),
    ]
    assert [r["prompt_tokens"] + r["completion_tokens"] for r in records] == [58, 75]


def test_parallel_calls_run_at_the_same_time(stage: Stage) -> None:
    # meet_a and meet_b only finish when both run at once (tests/agents/sample_tools.py).
    answer, _, _, request_id = ask(stage, "tools", "meet_a and meet_b")
    assert answer == "meet_a returned: a met\nmeet_b returned: b met"
    assert len(stage.records_of(request_id)) == 2


def test_a_failing_tool_is_reported_to_the_model(stage: Stage) -> None:
    answer, finish, _, _ = ask(stage, "tools", "explode reason=boom")
    assert answer == "The tool returned: Error: the tool failed: RuntimeError: boom"
    assert finish == "stop"


def test_bad_arguments_are_reported_to_the_model(stage: Stage) -> None:
    answer, _, _, _ = ask(stage, "tools", "add a=x b=3")
    assert answer.startswith(
        "The tool returned: Error: invalid arguments: a: Input should be a valid integer"
    )
    assert ask(stage, "tools", "add a=2 b=3")[0] == "The tool returned: 5"


def test_the_iteration_cap_answers_with_length(stage: Stage) -> None:
    answer, finish, _, request_id = ask(stage, "capped", "what is 2+2?")
    assert answer == "The agent stopped after 1 iterations without a final answer."
    assert finish == "length"
    assert len(stage.records_of(request_id)) == 1


def test_a_tool_timeout_is_reported_to_the_model(stage: Stage) -> None:
    answer, _, _, _ = ask(stage, "hanger", "hang now")
    assert answer == "The tool returned: Error: the tool did not finish within 0.1 s"


async def test_streaming_matches_the_whole_answer(stage: Stage) -> None:
    async with stage.async_client() as client:
        whole = await client.chat.completions.create(
            model="agent/math", messages=[{"role": "user", "content": "what is 2**10?"}]
        )
        stream = await client.chat.completions.create(
            model="agent/math",
            messages=[{"role": "user", "content": "what is 2**10?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == whole.choices[0].message.content == "2**10 = 1024"
    assert len(pieces) > 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and whole.usage is not None
    assert usage.total_tokens == whole.usage.total_tokens
    assert len(stage.records_of(chunks[0].id)) == 2


def test_history_is_part_of_the_conversation(stage: Stage) -> None:
    with stage.client() as client:
        reply = client.chat.completions.create(
            model="agent/math",
            messages=[
                {"role": "user", "content": "what is 2+2?"},
                {"role": "assistant", "content": "2+2 = 4"},
                {"role": "user", "content": "and 3*3?"},
            ],
        )
    assert reply.choices[0].message.content == "3*3 = 9"


def test_an_agent_whose_model_is_an_agent(stage: Stage) -> None:
    answer, _, total, request_id = ask(stage, "boss", "what is 12*(3+4)?")
    assert answer == "12*(3+4) = 84"
    records = stage.records_of(request_id)
    # boss's one model call is agent/math, whose two model calls are the records.
    assert [(r["request_id"], r["user_id"], r["model"]) for r in records] == [
        (f"{request_id}-1-1", "full", "local-text"),
        (f"{request_id}-1-2", "full", "local-text"),
    ]
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in records) == total


def test_the_agents_own_limit_refuses_every_caller(stage: Stage) -> None:
    ask(stage, "busy", "hello")
    ask(stage, "busy", "hello", key=ADMIN_KEY)  # another caller: the limit is the agent's
    with pytest.raises(openai.RateLimitError) as refused:
        ask(stage, "busy", "hello")
    assert "The agent 'busy' is busy: Rate limit reached: 2 requests/minute" in str(refused.value)
    assert refused.value.response.headers["x-ratelimit-limit-requests"] == "2"
    assert int(refused.value.response.headers["retry-after"]) >= 1


def test_every_model_call_counts_against_the_callers_limit(stage: Stage) -> None:
    # "limited" may make 3 requests a minute: a run of math makes two model calls, so the
    # second run is refused at its second model call.
    ask(stage, "math", "what is 1+1?", key=LIMITED_KEY)
    with pytest.raises(openai.RateLimitError) as refused:
        ask(stage, "math", "what is 1+1?", key=LIMITED_KEY)
    assert "3 requests/minute" in str(refused.value)
    limited = [r for r in stage.ledger() if r["user_id"] == "limited"]
    assert [r["status"] for r in limited] == [200, 200, 200, 429]


def test_agents_are_listed_for_callers_allowed_to_use_them(stage: Stage) -> None:
    def listed(key: str) -> set[str]:
        with stage.client(key) as client:
            return {model.id for model in client.models.list()}

    agents = {"agent/math", "agent/tools", "agent/hanger", "agent/capped", "agent/boss"}
    others = {"agent/busy", "agent/slowpoke", "local-text", "local-slow"}
    assert agents | others == listed(FULL_KEY)
    assert listed(AGENT_ONLY_KEY) == {"agent/math"}
    assert listed(MODEL_ONLY_KEY) == {"local-text"}
    with stage.client() as client:
        assert client.models.retrieve("agent/math").owned_by == "continuum"


def test_permissions_name_agents_and_their_models(stage: Stage) -> None:
    assert ask(stage, "math", "what is 2+3?", key=AGENT_AND_MODEL_KEY)[0] == "2+3 = 5"
    # The agent's model calls are the caller's: they need the agent's model too.
    with pytest.raises(openai.PermissionDeniedError) as denied:
        ask(stage, "math", "what is 2+3?", key=AGENT_ONLY_KEY)
    assert "not permitted to use the model 'local-text'" in str(denied.value)
    # An agent the key may not use is a model that does not exist for it (issue 9).
    with pytest.raises(openai.NotFoundError) as missing:
        ask(stage, "math", "what is 2+3?", key=MODEL_ONLY_KEY)
    assert "The model 'agent/math' does not exist" in str(missing.value)


@pytest.mark.parametrize(
    ("messages", "extra", "status", "param"),
    [
        ([{"role": "user", "content": "hi"}], {"n": 2}, 400, "n"),
        ([{"role": "assistant", "content": "hi"}], {}, 400, "messages"),
    ],
)
def test_requests_an_agent_cannot_answer(
    stage: Stage, messages: list[dict[str, str]], extra: dict[str, int], status: int, param: str
) -> None:
    with stage.client() as client, pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(model="agent/math", messages=messages, **extra)  # type: ignore[arg-type]
    assert refused.value.status_code == status
    assert refused.value.body["param"] == param  # type: ignore[index]


def test_an_unknown_agent_is_an_unknown_model(stage: Stage) -> None:
    with stage.client() as client, pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="agent/nobody", messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_a_client_leaving_mid_answer_stops_the_run_and_is_recorded(stage: Stage) -> None:
    body = {
        "model": "agent/slowpoke",
        "stream": True,
        "messages": [{"role": "user", "content": "tell me a long story about the sea"}],
    }
    headers = {"authorization": f"Bearer {FULL_KEY}"}
    with httpx.stream(
        "POST", f"{stage.url}/v1/chat/completions", json=body, headers=headers
    ) as response:
        request_id = response.headers["x-request-id"]
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                break  # the first words arrived: leave
    deadline = time.monotonic() + 10
    while not (records := stage.records_of(request_id)):
        assert time.monotonic() < deadline, "the model call was never recorded"
        time.sleep(0.02)
    # The model call was cut (499, charged for what was sent), not run to its end.
    assert [(r["request_id"], r["status"], r["error_code"]) for r in records] == [
        (f"{request_id}-1", 499, "client_closed")
    ]
    assert 0 < records[0]["completion_tokens"] < 20
