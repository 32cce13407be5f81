"""Two gateway processes sharing one Redis behave as one: a limit holds across both."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from continuum.testing.process import gateway_process

KEY = "sk-replica-test-user-0000001"


@pytest.fixture
def replicas(tmp_path: Path, redis_url: str) -> Iterator[list[str]]:
    name = f"replica-user-{uuid.uuid4().hex[:8]}"  # Redis outlives the test: fresh identity
    (tmp_path / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: "{name}", permissions: "*", rate_limit: "25/minute"}}\n'
    )
    env = {"CONTINUUM_REDIS_URL": redis_url, "CONTINUUM_LOG_LEVEL": "warning"}
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                gateway_process(
                    "--config-dir", str(tmp_path), "--data-dir", str(tmp_path / f"d{i}"), env=env
                )
            ).url
            for i in range(2)
        ]


async def _fire(urls: list[str], total: int) -> list[int]:
    body = {"model": "local-echo", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(timeout=20) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{urls[i % 2]}/v1/chat/completions", json=body, headers=headers)
                for i in range(total)
            )
        )
    return [r.status_code for r in responses]


def test_a_limit_admits_exactly_n_across_two_replicas(replicas: list[str]) -> None:
    statuses = asyncio.run(_fire(replicas, 80))
    assert statuses.count(200) == 25
    assert statuses.count(429) == 55
