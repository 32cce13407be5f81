"""Seed 003's chain from three ``continuum serve`` processes, each with its own config dir:

    client ─► A (gateway) ─agent_runtime─► B (agent runtime) ─openai─► C (model proxy)

A serves B's agent ``math`` as the model ``remote-math``; B runs the agent's loop, its
model calls going to C's ``local-text``; A -> B carries the internal key.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from continuum.testing.process import GatewayProcess, gateway_process
from continuum.testing.server import free_port

INTERNAL_KEY = "chain-internal-key-0123456789abcdef"
C_RUNTIME_KEY = "sk-c-runtime-b-0123456789"
ALICE_KEY = "sk-a-alice-0123456789"
ADMIN_KEY = "sk-admin-of-each-hop-0123456789"
# Three interpreters starting at once on two busy cores: well inside the test's 60 s.
START = 40.0
ADMIN = f'  - {{token: "{ADMIN_KEY}", name: "admin", permissions: "*", admin: true}}\n'


@dataclass(frozen=True)
class Chain:
    a: GatewayProcess
    b: GatewayProcess
    c: GatewayProcess


def folder(root: Path, name: str, **files: str) -> str:
    path = root / name
    path.mkdir()
    for file, text in files.items():
        (path / f"{file}.yml").write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = tmp_path_factory.mktemp("chain")
    a_port, b_port, c_port = free_port(), free_port(), free_port()
    c_dir = folder(
        root,
        "c",
        users="users:\n"
        + ADMIN
        + f'  - {{token: "{C_RUNTIME_KEY}", name: "runtime-b", permissions: ["local-text"]}}\n',
    )
    b_dir = folder(
        root,
        "b",
        users="users:\n" + ADMIN,
        models="models:\n"
        f'  - {{id: "c-text", provider: "openai", upstream_model: "local-text", '
        f'base_url: "http://127.0.0.1:{c_port}/v1", api_key: "{C_RUNTIME_KEY}"}}\n',
        agents='agents:\n  - {name: "math", model: "c-text", tools: ["calculator"], '
        'system_prompt: "You are a careful calculator."}\n',
    )
    a_dir = folder(
        root,
        "a",
        users="users:\n"
        + ADMIN
        + f'  - {{token: "{ALICE_KEY}", name: "alice", permissions: ["remote-math"]}}\n',
        models='models:\n  - {id: "remote-math", provider: "agent_runtime", '
        'upstream_model: "agent/math"}\n',
    )
    # Seed 003's names on A: the runtime's address and the shared key.
    a_env = {
        "GATEWAY__AGENT_URL": f"http://127.0.0.1:{b_port}",
        "GATEWAY__INTERNAL_API_KEY": INTERNAL_KEY,
    }
    hops = [
        gateway_process(
            "--config-dir", c_dir, "--data-dir", str(root / "c-data"), port=c_port, timeout=START
        ),
        gateway_process(
            "--config-dir",
            b_dir,
            "--data-dir",
            str(root / "b-data"),
            env={"CONTINUUM_INTERNAL_KEY": INTERNAL_KEY},
            port=b_port,
            timeout=START,
        ),
        gateway_process(
            "--config-dir",
            a_dir,
            "--data-dir",
            str(root / "a-data"),
            env=a_env,
            port=a_port,
            timeout=START,
        ),
    ]
    # Started together: each only reaches the next when a request comes.
    with ExitStack() as stack, ThreadPoolExecutor(len(hops)) as pool:
        starting = [pool.submit(hop.__enter__) for hop in hops]
        for hop, started in zip(hops, starting, strict=True):
            if started.exception() is None:
                stack.push(hop.__exit__)
        c, b, a = (started.result() for started in starting)
        yield Chain(a, b, c)


def usage(hop: GatewayProcess) -> dict[tuple[str, str], tuple[int, int]]:
    """(user, model) -> (requests, total tokens), from the hop's GET /usage."""
    answer = httpx.get(
        f"{hop.url}/usage", params={"all": "true"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert answer.status_code == 200, answer.text
    return {
        (row["user"], row["model"]): (row["requests"], row["total_tokens"])
        for row in answer.json()["data"]
    }


def grown(
    before: dict[tuple[str, str], tuple[int, int]], after: dict[tuple[str, str], tuple[int, int]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """What each (user, model) gained between two readings."""
    gained = {
        key: (count - before.get(key, (0, 0))[0], tokens - before.get(key, (0, 0))[1])
        for key, (count, tokens) in after.items()
    }
    return {key: value for key, value in gained.items() if value != (0, 0)}


def test_the_answer_arrives_through_a_and_each_hop_records_it(chain: Chain) -> None:
    hops = (chain.a, chain.b, chain.c)
    before = [usage(hop) for hop in hops]
    with openai.OpenAI(base_url=f"{chain.a.url}/v1", api_key=ALICE_KEY, max_retries=0) as client:
        question = [{"role": "user", "content": "what is 12*(3+4)?"}]
        reply = client.chat.completions.create(model="remote-math", messages=question, user="alice")
        chunks = list(
            client.chat.completions.create(
                model="remote-math",
                messages=question,
                user="alice",
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert reply.choices[0].message.content == "12*(3+4) = 84"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == "12*(3+4) = 84" and len(pieces) > 1
    assert reply.usage is not None and chunks[-1].usage is not None
    tokens = reply.usage.total_tokens
    assert chunks[-1].usage.total_tokens == tokens > 0
    a, b, c = (grown(old, usage(hop)) for old, hop in zip(before, hops, strict=True))
    # A: one request per answer, for alice; B: two model calls each (the tool call, then
    # the answer), for the end user A's client named; C: the same calls, for B's key.
    assert a == {("alice", "remote-math"): (2, 2 * tokens)}
    assert b == {("user:alice", "c-text"): (4, 2 * tokens)}
    assert c == {("runtime-b", "local-text"): (4, 2 * tokens)}


@pytest.mark.parametrize("key", [None, "", "not-the-key", INTERNAL_KEY.upper()])
def test_b_refuses_calls_without_the_internal_key(chain: Chain, key: str | None) -> None:
    headers = {"x-internal-auth": key} if key is not None else {}
    body = {"session_id": "s-1", "agent": "math", "message": "what is 1+1?", "user_id": "eve"}
    answer = httpx.post(f"{chain.b.url}/agent/message/stream", json=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_internal_key"
    assert all(user != "user:eve" for user, _ in usage(chain.b))


def test_b_answers_a_caller_with_the_internal_key(chain: Chain) -> None:
    body = {"session_id": "s-2", "agent": "math", "message": "what is 2**5?", "user_id": "bob"}
    answer = httpx.post(
        f"{chain.b.url}/agent/message/stream",
        json=body,
        headers={"x-internal-auth": INTERNAL_KEY},
    )
    assert answer.status_code == 200
    assert '"token":"","is_final":true,"finish_reason":"stop"' in answer.text
    assert (
        "".join(
            line.split('"token":"')[1].split('"')[0]
            for line in answer.text.split("\n\n")
            if '"is_final":false' in line
        )
        == "2**5 = 32"
    )
