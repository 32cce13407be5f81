"""Agent loops through the gateway over the fake OpenAI and Anthropic upstreams.

Each test scripts what the upstream model writes at each step (``script_turns``) and
asks ``agent/<name>`` through ``/v1/chat/completions`` with the official ``openai`` SDK;
what the upstream received next shows what the tools gave back, and the ledger shows
one record per model call under the calling user.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import orjson
import pytest

from continuum.testing.fake_upstream import (
    FakeUpstream,
    Fault,
    SeenRequest,
    calls,
    fake_anthropic,
    fake_openai,
    says,
)
from tests.agents.stage import Stage, staged

TOOLS = '["calculator", "add", "explode", "meet_a", "meet_b"]'
AGENTS_YML = f"""
tool_modules: ["tests.agents.sample_tools"]
agents:
  - {{name: "gpt", model: "gpt-fake", tools: {TOOLS}, max_iterations: 3, tool_timeout: 10}}
  - {{name: "gpt-hang", model: "gpt-fake", tools: ["hang"], tool_timeout: 0.1}}
  - {{name: "claude", model: "claude-fake", tools: {TOOLS}, max_iterations: 3, tool_timeout: 10}}
  - {{name: "claude-hang", model: "claude-fake", tools: ["hang"], tool_timeout: 0.1}}
"""


@dataclass(frozen=True)
class Flavour:
    agent: str  # the agent on this flavour's fake; "<agent>-hang" has the hanging tool
    model: str
    fake: FakeUpstream

    def tool_results(self, request: SeenRequest) -> list[str]:
        """The tool results the model was shown, in the order of its calls."""
        body: Any = request.json()
        if self.agent == "gpt":
            return [m["content"] for m in body["messages"] if m["role"] == "tool"]
        last = body["messages"][-1]
        blocks = [b for b in last["content"] if b.get("type") == "tool_result"]
        return [
            b["content"] if isinstance(b["content"], str) else b["content"][0]["text"]
            for b in blocks
        ]


@pytest.fixture(scope="module")
def fakes() -> dict[str, FakeUpstream]:
    return {"openai": fake_openai(), "anthropic": fake_anthropic()}


@pytest.fixture(scope="module")
def stage(
    fakes: dict[str, FakeUpstream], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("agents-fakes")
    with (
        fakes["openai"].run_in_thread() as gpt,
        fakes["anthropic"].run_in_thread() as claude,
        staged(root, AGENTS_YML, {"openai": gpt, "anthropic": claude}) as running,
    ):
        yield running


@pytest.fixture(params=["openai", "anthropic"])
def flavour(request: pytest.FixtureRequest, fakes: dict[str, FakeUpstream]) -> Iterator[Flavour]:
    fake = fakes[request.param]
    fake.recorder.clear()
    if request.param == "openai":
        yield Flavour("gpt", "gpt-fake", fake)
    else:
        yield Flavour("claude", "claude-fake", fake)
    while fake.next_turn() is not None:  # a failed test leaves no script behind
        pass


def ask(stage: Stage, agent: str, prompt: str = "go") -> tuple[str, str, int, str]:
    with stage.client() as client:
        reply = client.chat.completions.create(
            model=f"agent/{agent}", messages=[{"role": "user", "content": prompt}]
        )
    assert reply.model == f"agent/{agent}"
    assert reply.usage is not None
    content = reply.choices[0].message.content
    assert content is not None
    return content, str(reply.choices[0].finish_reason), reply.usage.total_tokens, reply.id


def assert_one_record_per_call(
    stage: Stage, request_id: str, flavour: Flavour, calls_made: int, total: int
) -> None:
    records = stage.records_of(request_id)
    assert [r["request_id"] for r in records] == [
        f"{request_id}-{n}" for n in range(1, calls_made + 1)
    ]
    assert {(r["user_id"], r["model"], r["door"], r["status"]) for r in records} == {
        ("full", flavour.model, "http", 200)
    }
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in records) == total


def test_one_tool_call(stage: Stage, flavour: Flavour) -> None:
    flavour.fake.script_turns(calls(("calculator", '{"expression":"12*(3+4)"}')), says("It is 84."))
    answer, finish, total, request_id = ask(stage, flavour.agent, "what is 12*(3+4)?")
    assert (answer, finish) == ("It is 84.", "stop")
    first, second = flavour.fake.recorder.requests
    assert flavour.tool_results(second) == ["84"]
    offered = orjson.dumps(first.json()["tools"]).decode()
    assert all(name in offered for name in ("calculator", "add", "explode", "meet_a"))
    assert_one_record_per_call(stage, request_id, flavour, 2, total)


def test_parallel_calls_run_at_the_same_time(stage: Stage, flavour: Flavour) -> None:
    # meet_a and meet_b only finish when both run at once (tests/agents/sample_tools.py).
    flavour.fake.script_turns(calls(("meet_a", "{}"), ("meet_b", "{}")), says("Both met."))
    answer, _, total, request_id = ask(stage, flavour.agent)
    assert answer == "Both met."
    assert flavour.tool_results(flavour.fake.recorder.requests[1]) == ["a met", "b met"]
    assert_one_record_per_call(stage, request_id, flavour, 2, total)


def test_a_failing_tool_goes_back_to_the_model(stage: Stage, flavour: Flavour) -> None:
    flavour.fake.script_turns(calls(("explode", '{"reason":"boom"}')), says("Sorry."))
    answer, finish, _, _ = ask(stage, flavour.agent)
    assert (answer, finish) == ("Sorry.", "stop")
    assert flavour.tool_results(flavour.fake.recorder.requests[1]) == [
        "Error: the tool failed: RuntimeError: boom"
    ]


def test_arguments_that_break_the_schema_go_back_to_the_model(
    stage: Stage, flavour: Flavour
) -> None:
    flavour.fake.script_turns(
        calls(("add", '{"a":"x","b":2}'), ("add", '{"a":1,"b":2,"c":3}')), says("Hm.")
    )
    assert ask(stage, flavour.agent)[0] == "Hm."
    wrong_type, extra = flavour.tool_results(flavour.fake.recorder.requests[1])
    assert wrong_type.startswith("Error: invalid arguments: a: Input should be a valid integer")
    assert extra.startswith("Error: invalid arguments: c: Extra inputs are not permitted")


def test_arguments_that_are_not_json_go_back_to_the_model(
    stage: Stage, fakes: dict[str, FakeUpstream]
) -> None:
    # Only OpenAI's wire carries the arguments as text a model may break.
    fake = fakes["openai"]
    fake.recorder.clear()
    fake.script_turns(calls(("add", '{"a": 1, "b":')), says("Oops."))
    assert ask(stage, "gpt")[0] == "Oops."
    (result,) = Flavour("gpt", "gpt-fake", fake).tool_results(fake.recorder.requests[1])
    assert result.startswith("Error: the arguments are not valid JSON")


def test_an_unknown_tool_goes_back_to_the_model(stage: Stage, flavour: Flavour) -> None:
    flavour.fake.script_turns(calls(("teleport", '{"to":"Mars"}')), says("I cannot."))
    assert ask(stage, flavour.agent)[0] == "I cannot."
    assert flavour.tool_results(flavour.fake.recorder.requests[1]) == [
        "Error: unknown tool 'teleport'; the tools are: calculator, add, explode, meet_a, meet_b"
    ]


def test_the_iteration_cap_ends_the_run_well_formed(stage: Stage, flavour: Flavour) -> None:
    loop = calls(("add", '{"a":1,"b":1}'))
    flavour.fake.script_turns(loop, loop, loop, says("never reached"))
    answer, finish, total, request_id = ask(stage, flavour.agent)
    assert answer == "The agent stopped after 3 iterations without a final answer."
    assert finish == "length"
    assert len(flavour.fake.recorder.requests) == 3
    assert flavour.fake.next_turn() == says("never reached")
    assert_one_record_per_call(stage, request_id, flavour, 3, total)


def test_a_tool_that_runs_out_of_time_goes_back_to_the_model(
    stage: Stage, flavour: Flavour
) -> None:
    flavour.fake.script_turns(calls(("hang", '{"reason":"wait"}')), says("Too slow."))
    answer, _, _, _ = ask(stage, f"{flavour.agent}-hang")
    assert answer == "Too slow."
    assert flavour.tool_results(flavour.fake.recorder.requests[1]) == [
        "Error: the tool did not finish within 0.1 s"
    ]


def test_streaming_sends_the_answer_as_chunks(stage: Stage, flavour: Flavour) -> None:
    flavour.fake.script_turns(
        calls(("calculator", '{"expression":"2**10"}'), text="Let me compute."),
        says("It is 1024, as computed."),
    )
    pieces, finish, usage, ids = [], None, None, set()
    with stage.client() as client:
        chunks = list(
            client.chat.completions.create(
                model=f"agent/{flavour.agent}",
                messages=[{"role": "user", "content": "what is 2**10?"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    for chunk in chunks:
        ids.add(chunk.id)
        if chunk.usage is not None:
            usage = chunk.usage
            continue
        choice = chunk.choices[0]
        if choice.delta.content:
            pieces.append(choice.delta.content)
        finish = choice.finish_reason or finish
    assert "".join(pieces) == "Let me compute.\n\nIt is 1024, as computed."
    assert len(pieces) > 4  # streamed as the model wrote it, not in one piece
    assert finish == "stop"
    assert usage is not None and len(ids) == 1
    assert flavour.tool_results(flavour.fake.recorder.requests[1]) == ["1024"]
    assert_one_record_per_call(stage, ids.pop(), flavour, 2, usage.total_tokens)


def test_the_upstream_refusing_is_the_callers_error(stage: Stage, flavour: Flavour) -> None:
    flavour.fake.script(Fault(status=400))
    with pytest.raises(openai.APIStatusError) as raised:
        ask(stage, flavour.agent)
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "upstream_rejected"  # type: ignore[index]
