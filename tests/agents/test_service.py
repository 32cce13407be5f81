"""``gateway.agents`` (AgentService) driven in-process, as the /agent/{name} routes use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from continuum.agents import AgentDone, AgentService, AnswerDelta, IterationDone
from continuum.app import build_gateway
from continuum.core.context import RequestContext
from continuum.errors import NotFound, PermissionDenied, RateLimited
from continuum.gateway import Gateway
from continuum.settings import Settings
from continuum.testing.clock import ManualClock
from tests.agents.stage import AGENT_ONLY_KEY, FULL_KEY, MODEL_ONLY_KEY, write_config

AGENTS_YML = """
agents:
  - {name: "math", model: "local-text", tools: ["calculator"], rate_limit: "2/minute"}
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def gateway(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Gateway]:
    config = write_config(tmp_path / "config", AGENTS_YML, {})
    settings = Settings.from_env({}, config_dir=config, data_dir=tmp_path / "data")
    async with build_gateway(settings, clock=clock) as running:
        yield running


async def caller(gateway: Gateway, key: str = FULL_KEY) -> RequestContext:
    return await gateway.pipeline.open(key, door="simple", prefix="agent-", client="10.0.0.9")


async def test_run_gives_the_result_with_its_iterations(gateway: Gateway) -> None:
    service: AgentService = gateway.agents
    ctx = await caller(gateway)
    result = await service.run(ctx, "math", "what is 12*(3+4)?")
    body = result.to_dict()
    assert body["prompt"] == "what is 12*(3+4)?" and body["response"] == "12*(3+4) = 84"
    first, second = body["iterations"]
    assert [(c["name"], c["arguments"], c["result"]) for c in first["tool_calls"]] == [
        ("calculator", '{"expression":"12*(3+4)"}', "84")
    ]
    assert second["output"] == "12*(3+4) = 84" and body["finish_reason"] == "stop"
    total = first["usage"]["total_tokens"] + second["usage"]["total_tokens"]
    assert body["usage"]["total_tokens"] == total
    await gateway.ledger.flush()
    totals = await gateway.usage.totals("full")
    assert [(t.model, t.requests, t.total_tokens) for t in totals] == [("local-text", 2, total)]
    assert ctx.limits == ()  # "full" has no limits of its own


async def test_stream_yields_the_answer_then_the_iterations_then_the_result(
    gateway: Gateway,
) -> None:
    events = [e async for e in gateway.agents.stream(await caller(gateway), "math", "2+2?")]
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "IterationDone" and kinds[-2:] == ["IterationDone", "AgentDone"]
    answer = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    done = events[-1]
    assert isinstance(done, AgentDone) and done.result.response == answer == "2+2 = 4"
    assert sum(isinstance(e, IterationDone) for e in events) == 2


async def test_unknown_agents_and_callers_not_allowed_are_refused(gateway: Gateway) -> None:
    with pytest.raises(NotFound) as missing:
        await gateway.agents.run(await caller(gateway), "nobody", "hi")
    assert (missing.value.code, missing.value.param) == ("agent_not_found", "name")
    assert gateway.agents.find("nobody") is None and gateway.agents.get("math").name == "math"
    math = gateway.agents.get("math")
    with pytest.raises(NotFound) as hidden:  # as for models: not allowed is not there
        await gateway.agents.run(await caller(gateway, MODEL_ONLY_KEY), math, "hi")
    assert hidden.value.message == missing.value.message.replace("nobody", "math")
    # AGENT_ONLY may use agent/math, but not the model its calls are made to.
    with pytest.raises(PermissionDenied, match="'local-text'"):
        await gateway.agents.run(await caller(gateway, AGENT_ONLY_KEY), "math", "hi")


async def test_the_agents_limit_refuses_until_its_window_passes(
    gateway: Gateway, clock: ManualClock
) -> None:
    for _ in range(2):
        await gateway.agents.run(await caller(gateway), "math", "hi")
    with pytest.raises(RateLimited) as refused:
        await gateway.agents.run(await caller(gateway), "math", "hi")
    assert refused.value.retry_after == pytest.approx(30, abs=1)
    assert [s.limit.label for s in refused.value.states] == ["2 requests/minute"]
    clock.advance(30)
    assert (await gateway.agents.run(await caller(gateway), "math", "hi")).response
