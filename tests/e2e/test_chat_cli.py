"""``continuum chat`` as a user runs it: a real process against ``continuum serve``, over
each door (SSE, WebSocket, TCP), one-shot and interactive with piped stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from continuum.testing.server import free_port
from tests.e2e.test_cli import read_until, serve

KEY = "ck-chat-cli-everything-00001"
LIMITED = "ck-chat-cli-two-a-minute-001"
USERS = f"""
users:
  - {{token: "{KEY}", name: "everyone", permissions: "*"}}
  - {{token: "{LIMITED}", name: "limited", permissions: "*", rate_limit: "2/minute"}}
"""
WS_PATH = "/v1/chat/completions/ws"


@dataclass
class Gateway:
    http: str
    tcp: str
    ws: str
    cwd: Path

    def url(self, door: str) -> str:
        if door == "ws" and not self.has_ws_door():
            pytest.skip(f"the WebSocket chat door ({WS_PATH}) is not in this build yet")
        return {"http": self.http, "tcp": self.tcp, "ws": self.ws}[door]

    def has_ws_door(self) -> bool:
        """Whether the running gateway accepts the WebSocket chat (its upgrade succeeds)."""
        try:
            with connect(self.ws + WS_PATH, open_timeout=10):
                return True
        except InvalidStatus:
            return False

    def answer(self, *messages: str, model: str = "local-text") -> str:
        """The gateway's answer to a conversation (user, assistant, user, …) over HTTP."""
        roles = ["user", "assistant"]
        body = {
            "model": model,
            "messages": [
                {"role": roles[i % 2], "content": text} for i, text in enumerate(messages)
            ],
        }
        reply = httpx.post(
            f"{self.http}/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {KEY}"},
        )
        return str(reply.json()["choices"][0]["message"]["content"])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("chat")
    (root / "users.yml").write_text(USERS)
    http_port, tcp_port = free_port(), free_port()
    env = {
        "CONTINUUM_CONFIG_DIR": str(root),
        "CONTINUUM_PORT": str(http_port),
        "CONTINUUM_TCP_ENABLED": "true",
        "CONTINUUM_TCP_PORT": str(tcp_port),
    }
    with serve(root, env=env) as (process, lines):
        read_until(process, lines, "Uvicorn running")
        yield Gateway(
            f"http://127.0.0.1:{http_port}",
            f"tcp://127.0.0.1:{tcp_port}",
            f"ws://127.0.0.1:{http_port}",
            root,
        )


def chat(
    cwd: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    return subprocess.run(
        [sys.executable, "-m", "continuum", "chat", *args],
        cwd=cwd,
        env=environment | (env or {}),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=30,
    )


DOORS = ["http", "tcp", "ws"]


def test_help_names_the_doors_and_the_exit_statuses(tmp_path: Path) -> None:
    result = chat(tmp_path, "--help")
    assert result.returncode == 0
    for text in ("http://", "ws://", "tcp://", "--url", "--key", "--model", "exit status"):
        assert text in result.stdout


@pytest.mark.parametrize("door", DOORS)
def test_one_prompt_prints_the_answer_and_exits_0(gateway: Gateway, door: str) -> None:
    prompt = f"Tell me about the {door} door."
    result = chat(
        gateway.cwd, "--url", gateway.url(door), "--key", KEY, "--model", "local-text", prompt
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == gateway.answer(prompt) + "\n"


@pytest.mark.parametrize("door", DOORS)
def test_interactive_chat_keeps_the_conversation(gateway: Gateway, door: str) -> None:
    stdin = "What is a gateway?\n\nAnd why use one?\n/exit\nnever sent\n"
    result = chat(
        gateway.cwd, "--url", gateway.url(door), "--key", KEY, "--model", "local-text", stdin=stdin
    )
    assert (result.returncode, result.stderr) == (0, "")
    first = gateway.answer("What is a gateway?")
    second = gateway.answer("What is a gateway?", first, "And why use one?")
    assert second != gateway.answer("And why use one?")  # the history changes the answer
    assert result.stdout == f"{first}\n{second}\n"


def test_end_of_input_ends_the_chat(gateway: Gateway) -> None:
    result = chat(
        gateway.cwd, "--url", gateway.tcp, "--key", KEY, "--model", "local-echo", stdin="hi there\n"
    )
    assert (result.returncode, result.stdout) == (0, "hi there\n")


def test_the_default_model_is_the_first_listed_else_local_text(gateway: Gateway) -> None:
    listed = httpx.get(f"{gateway.http}/v1/models", headers={"authorization": f"Bearer {KEY}"})
    first = listed.json()["data"][0]["id"]
    over_http = chat(gateway.cwd, "--url", gateway.http, "--key", KEY, "Which model?")
    assert over_http.stdout == gateway.answer("Which model?", model=first) + "\n"
    over_tcp = chat(gateway.cwd, "--url", gateway.tcp, "--key", KEY, "Which model?")
    assert over_tcp.stdout == gateway.answer("Which model?", model="local-text") + "\n"


def test_the_key_comes_from_the_environment_then_the_sample_key(
    gateway: Gateway, tmp_path: Path
) -> None:
    from_env = chat(tmp_path, "--url", gateway.tcp, "hello", env={"CONTINUUM_API_KEY": KEY})
    assert (from_env.returncode, from_env.stderr) == (0, "")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample-key").write_text(KEY + "\n")
    from_file = chat(tmp_path, "--url", gateway.tcp, "hello")
    assert (from_file.returncode, from_file.stderr) == (0, "")
    elsewhere = tmp_path / "state"
    (tmp_path / "data").rename(elsewhere)
    from_dir = chat(
        tmp_path, "--url", gateway.tcp, "hello", env={"CONTINUUM_DATA_DIR": str(elsewhere)}
    )
    assert from_dir.returncode == 0
    assert chat(tmp_path, "--url", gateway.tcp, "--data-dir", str(elsewhere), "hi").returncode == 0


@pytest.mark.parametrize("door", DOORS)
def test_a_failed_request_exits_1_with_the_gateways_error(gateway: Gateway, door: str) -> None:
    url = gateway.url(door)
    wrong_key = chat(gateway.cwd, "--url", url, "--key", "ck-nobody-has-this-key-00", "hi")
    assert wrong_key.returncode == 1 and wrong_key.stdout == ""
    assert "invalid_api_key" in wrong_key.stderr
    unknown = chat(gateway.cwd, "--url", url, "--key", KEY, "--model", "no-such-model", "hi")
    assert unknown.returncode == 1
    assert "model_not_found" in unknown.stderr and "no-such-model" in unknown.stderr


def test_an_interactive_chat_goes_on_after_a_refused_turn(gateway: Gateway) -> None:
    stdin = "one\ntwo\nthree\n"
    result = chat(
        gateway.cwd, "--url", gateway.tcp, "--key", LIMITED, "--model", "local-echo", stdin=stdin
    )
    assert result.returncode == 1  # a turn failed
    assert result.stdout == "one\ntwo\n"
    assert "429 rate_limit_exceeded" in result.stderr


def test_usage_errors_exit_2(gateway: Gateway, tmp_path: Path) -> None:
    bad_scheme = chat(tmp_path, "--url", "ftp://127.0.0.1:21", "--key", KEY, "hi")
    assert bad_scheme.returncode == 2 and "http://, ws:// or tcp://" in bad_scheme.stderr
    no_key = chat(tmp_path, "--url", gateway.tcp, "hi")  # no env key, no data/sample-key here
    assert no_key.returncode == 2 and "no API key" in no_key.stderr
    assert chat(tmp_path, "--no-such-flag").returncode == 2


def test_a_gateway_that_is_not_there_exits_1(tmp_path: Path) -> None:
    port = free_port()
    for url in (f"tcp://127.0.0.1:{port}", f"http://127.0.0.1:{port}"):
        result = chat(tmp_path, "--url", url, "--key", KEY, "--model", "m", "hi")
        assert result.returncode == 1 and "cannot reach" in result.stderr
