"""Retries, fallbacks, cooldown and recovery through the gateway, against real fake upstreams.

Two fakes of the same protocol stand behind one public model: ``primary`` (weighted to
lead every time) and ``backup``. Both answer by repeating the prompt, so which one
answered is read from what each fake recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.clock import ManualClock
from continuum.testing.fake_upstream import FakeUpstream, Fault
from continuum.testing.server import serve_in_thread
from tests.providers.conftest import CASES, GATEWAY_KEY, UPSTREAM_KEY, USERS

USER = [{"role": "user", "content": "are you there"}]
COOLDOWN = 0.6


@dataclass
class Pair:
    primary: FakeUpstream
    backup: FakeUpstream
    client: openai.OpenAI
    clock: ManualClock

    def counts(self) -> tuple[int, int]:
        return len(self.primary.recorder.requests), len(self.backup.recorder.requests)

    def reset(self) -> None:
        self.primary.fault = Fault()
        self.primary.recorder.clear()
        self.backup.recorder.clear()


@pytest.fixture(scope="module", params=sorted(CASES))
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    case = CASES[request.param]
    primary, backup = case.make_fake(api_key=UPSTREAM_KEY), case.make_fake(api_key=UPSTREAM_KEY)
    with primary.run_in_thread() as first, backup.run_in_thread() as second:

        def deployment(url: str, weight: str) -> str:
            return (
                f"      - {{provider: {case.provider}, upstream_model: fake-model, base_url: "
                f'"{url}{case.path}", api_key: "{UPSTREAM_KEY}", weight: {weight}}}\n'
            )

        config = tmp_path_factory.mktemp(f"resilience-{case.provider}")
        (config / "users.yml").write_text(USERS)
        (config / "models.yml").write_text(
            "models:\n"
            f"  - id: retrying\n    deployments:\n{deployment(first, '1')}"
            f"  - id: falling-back\n    retries: 0\n    deployments:\n"
            f"{deployment(first, '1000000')}{deployment(second, '0.000001')}"
            f"  - id: impatient\n    retries: 0\n    deployments:\n"
            f"{deployment(first, '1000000, first_token_timeout: 0.3')}{deployment(second, '0.000001')}"
        )
        settings = Settings.from_env(
            {"CONTINUUM_COOLDOWN_FAILURES": "3", "CONTINUUM_COOLDOWN_SECONDS": "1"},
            config_dir=config,
            data_dir=Path(config),
            cooldown_seconds=COOLDOWN,
        )
        clock = ManualClock()
        with serve_in_thread(create_app(settings, clock=clock)) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=GATEWAY_KEY, max_retries=0)
            yield Pair(primary, backup, client, clock)
            client.close()


def ask(pair: Pair, model: str, stream: bool = False) -> str:
    if stream:
        chunks = pair.client.chat.completions.create(model=model, messages=USER, stream=True)  # type: ignore[call-overload]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reply = pair.client.chat.completions.create(model=model, messages=USER)  # type: ignore[call-overload]
    return str(reply.choices[0].message.content)


@pytest.mark.parametrize("status", [503, 429, 500])
@pytest.mark.parametrize("stream", [False, True])
def test_a_retry_succeeds_after_a_retryable_failure(pair: Pair, status: int, stream: bool) -> None:
    pair.reset()
    pair.primary.script(Fault(status=status), times=1)
    assert ask(pair, "retrying", stream) == "are you there"
    assert pair.counts() == (2, 0)


def test_a_rejected_request_is_not_retried(pair: Pair) -> None:
    pair.reset()
    pair.primary.script(Fault(status=400), times=1)
    with pytest.raises(openai.APIStatusError) as caught:
        ask(pair, "retrying")
    assert caught.value.status_code == 502
    assert pair.counts() == (1, 0)


@pytest.mark.parametrize("stream", [False, True])
def test_fallback_answers_when_the_primary_is_down(pair: Pair, stream: bool) -> None:
    pair.reset()
    pair.primary.script(Fault(status=503), times=1)
    assert ask(pair, "falling-back", stream) == "are you there"
    assert pair.counts() == (1, 1)


def test_a_silent_primary_is_abandoned_at_its_first_token_timeout(pair: Pair) -> None:
    pair.reset()
    pair.primary.script(Fault(latency=5), times=1)
    started = time.monotonic()
    assert ask(pair, "impatient") == "are you there"
    assert time.monotonic() - started < 2
    assert pair.counts() == (1, 1)


def test_cooldown_skips_a_failing_primary_and_it_recovers(pair: Pair) -> None:
    pair.reset()
    pair.clock.advance(COOLDOWN + 0.1)  # earlier tests' failures: let them cool off,
    assert ask(pair, "falling-back") == "are you there"  # and one success clears the count
    pair.reset()
    pair.primary.fault = Fault(status=503)
    for _ in range(3):  # three failures in a row put the primary in cooldown
        assert ask(pair, "falling-back") == "are you there"
    assert pair.counts() == (3, 3)
    for _ in range(2):
        assert ask(pair, "falling-back") == "are you there"
    assert pair.counts() == (3, 5)  # cooling: not even tried
    pair.primary.fault = Fault()
    pair.clock.advance(COOLDOWN + 0.1)
    assert ask(pair, "falling-back") == "are you there"
    assert pair.counts() == (4, 5)  # back in front after the cooldown
    assert ask(pair, "falling-back") == "are you there"
    assert pair.counts() == (5, 5)
