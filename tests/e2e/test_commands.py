"""The ``continuum`` subcommands as scripts run them: a real process each, its output and its
exit status (0 ok, 1 runtime failure, 2 usage error), against ``continuum serve`` where a
running gateway is part of the story. (``continuum chat`` through piped stdin:
tests/e2e/test_chat_cli.py.)"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from continuum.store.database import MIGRATIONS
from continuum.testing.server import free_port
from tests.e2e.test_cli import read_until, serve

ALICE = "ck-commands-alice-0000000001"
BOB = "ck-commands-bob-000000000002"
MODELS = """
models:
  - {id: "chat", provider: "local", upstream_model: "text"}
  - id: "mixed"
    deployments:
      - {provider: "local", upstream_model: "echo", weight: 3}
      - {provider: "openai", upstream_model: "gpt-4o-mini", base_url: "http://u:secret@127.0.0.1:9/v1"}
"""
USERS = f"""
users:
  - {{token: "{ALICE}", name: "alice", permissions: "*", rate_limit: ["100/minute", "5000 tokens/hour"]}}
  - {{token: "{BOB}", name: "bob", permissions: ["chat"]}}
"""
AGENTS = 'agents: [{name: "math", model: "chat", tools: ["calculator"]}]\n'
HELP = [
    [],
    ["serve"],
    ["config"],
    ["config", "check"],
    ["models"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
    ["usage"],
    ["db"],
    ["db", "upgrade"],
    ["chat"],
]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env.update(extra)
    return env


def continuum(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "continuum", *args],
        env=env if env is not None else environment(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "conf"
    directory.mkdir()
    (directory / "models.yml").write_text(MODELS)
    (directory / "users.yml").write_text(USERS)
    (directory / "agents.yml").write_text(AGENTS)
    return directory


@pytest.fixture
def database_env(database_settings: dict[str, object]) -> dict[str, str]:
    """The CONTINUUM_* variables of SQLite in a data dir, or of a PostgreSQL schema."""
    names = {
        "data_dir": "CONTINUUM_DATA_DIR",
        "database_url": "CONTINUUM_DATABASE_URL",
        "database_schema": "CONTINUUM_DATABASE_SCHEMA",
    }
    return {names[key]: str(value) for key, value in database_settings.items()}


@pytest.mark.parametrize("argv", HELP, ids=lambda argv: " ".join(argv) or "continuum")
def test_every_subcommand_has_help_with_the_exit_statuses(argv: list[str]) -> None:
    result = continuum(*argv, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: continuum {' '.join(argv)}".rstrip())
    assert "exit status" in result.stdout


def test_usage_errors_exit_2() -> None:
    assert continuum().returncode == 2
    assert continuum("nonsense").returncode == 2
    assert continuum("keys").returncode == 2  # an action is required
    bad = continuum("usage", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_config_check_prints_what_the_directory_serves(config: Path) -> None:
    result = continuum("config", "check", "--config-dir", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "chat  (owned by local)" in out and "-> local/text  weight 1" in out
    assert "-> local/echo  weight 3" in out
    assert "openai/gpt-4o-mini@http://***@127.0.0.1:9/v1" in out and "secret" not in out
    assert "agent/math  (agent)" in out
    assert "alice (alice)  models: *  limits: 100 requests/minute, 5000 tokens/hour" in out
    assert "bob (bob)  models: chat  limits: unlimited" in out
    assert "math  model: chat  tools: calculator" in out
    assert out.rstrip().endswith("config OK")
    assert ALICE not in out and BOB not in out
    summary = json.loads(continuum("config", "check", "--config-dir", str(config), "--json").stdout)
    assert [m["id"] for m in summary["models"]] == ["chat", "mixed", "agent/math"]
    assert [u["name"] for u in summary["users"]] == ["alice", "bob"]
    assert summary["agents"] == [
        {"name": "math", "model": "chat", "tools": ["calculator"], "limits": []}
    ]


def test_config_check_of_no_directory_writes_nothing(tmp_path: Path) -> None:
    result = continuum("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "the sample credential" in result.stdout and "local-text" in result.stdout
    assert list(tmp_path.iterdir()) == []  # not even the sample credential was made


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        (
            "users.yml",
            'users: [{token: "ck-0123456789abcdef", name: "a", rate_limit: "fast"}]',
            "users.yml: users[0].rate_limit:",
        ),
        (
            "models.yml",
            'models:\n  - {id: "x", provider: "nope"}',
            "models.yml: models[0].deployments[0].provider: unknown provider 'nope'",
        ),
        (
            "agents.yml",
            'agents: [{name: "math", model: "chatt"}]',
            "agents.yml: agents[0].model: unknown model 'chatt'",
        ),
        ("models.yml", "models: [oops", "models.yml: (file): is not valid YAML"),
    ],
)
def test_config_check_names_the_file_key_and_fix_of_a_bad_config(
    config: Path, file: str, text: str, message: str
) -> None:
    (config / file).write_text(text)
    result = continuum("config", "check", "--config-dir", str(config))
    assert result.returncode == 2
    assert message in result.stderr and "Fix:" in result.stderr
    assert "config OK" not in result.stdout


def test_config_check_of_a_missing_directory(tmp_path: Path) -> None:
    result = continuum("config", "check", "--config-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.fixture
def gateway(tmp_path: Path, config: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    data = tmp_path / "data"
    args = ("--port", str(port), "--config-dir", str(config), "--data-dir", str(data))
    with serve(tmp_path, *args) as (process, lines):
        read_until(process, lines, "Uvicorn running")
        yield f"http://127.0.0.1:{port}", data


def test_models_from_the_config_and_from_a_running_gateway(
    config: Path, gateway: tuple[str, Path]
) -> None:
    url, _ = gateway
    local = continuum("models", "--config-dir", str(config))
    assert local.returncode == 0
    assert [line.split("\t")[0] for line in local.stdout.splitlines()] == [
        "chat",
        "mixed",
        "agent/math",
    ]
    everything = continuum("models", "--url", url, "--key", ALICE, "--json")
    assert [m["id"] for m in json.loads(everything.stdout)] == ["chat", "mixed", "agent/math"]
    limited = continuum("models", "--url", url, env=environment(CONTINUUM_API_KEY=BOB))
    assert limited.returncode == 0 and limited.stdout.split() == ["chat", "local"]
    refused = continuum("models", "--url", url, "--key", "ck-nobody-000000000000000")
    assert refused.returncode == 1 and "401" in refused.stderr
    unreachable = continuum("models", "--url", f"http://127.0.0.1:{free_port()}", "--key", ALICE)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_keys_made_by_the_command_work_and_stop_working_on_a_running_gateway(
    gateway: tuple[str, Path],
) -> None:
    url, data = gateway
    env = environment(CONTINUUM_DATA_DIR=str(data))
    made = continuum("keys", "create", "--name", "ci", "--models", "chat", env=env)
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.split("id: ")[1].split()[0]
    key = made.stdout.split("key: ")[1].split()[0]
    listed = json.loads(continuum("keys", "list", "--json", env=env).stdout)
    assert listed == [
        {"id": key_id, "name": "ci", "owner": "ci", "models": ["chat"], "state": "active"}
    ]
    assert key not in continuum("keys", "list", env=env).stdout
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers).status_code == 200
    revoked = continuum("keys", "revoke", key_id, env=env)
    assert revoked.returncode == 0 and f"revoked {key_id}" in revoked.stdout
    deadline = time.monotonic() + 10  # the gateway's key cache holds an answer 0.5 s
    while True:
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers)
        if answer.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "key_revoked"
    assert "revoked" in continuum("keys", "list", env=env).stdout
    missing = continuum("keys", "revoke", "key_unknown", env=env)
    assert missing.returncode == 1 and "no key key_unknown" in missing.stderr


def test_usage_after_real_traffic(
    tmp_path: Path, config: Path, database_env: dict[str, str]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve(tmp_path, "--port", str(port), "--config-dir", str(config), env=database_env) as (
        process,
        lines,
    ):
        read_until(process, lines, "Uvicorn running")
        for key, model, times in ((ALICE, "chat", 2), (ALICE, "mixed", 1), (BOB, "chat", 3)):
            for _ in range(times):
                reply = httpx.post(
                    f"{url}/v1/chat/completions",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"model": model, "messages": [{"role": "user", "content": "one two"}]},
                )
                assert reply.status_code == 200
    # The server has stopped: its ledger is flushed.
    env = environment(**database_env)
    result = continuum("usage", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert [(r["user"], r["model"], r["day"], r["requests"]) for r in data] == [
        ("alice", "chat", today, 2),
        ("alice", "mixed", today, 1),
        ("bob", "chat", today, 3),
    ]
    assert all(r["prompt_tokens"] > 0 and r["completion_tokens"] > 0 for r in data)
    table = continuum("usage", "--since", "1d", env=env).stdout.splitlines()
    assert table[0].split() == ["user", "model", "day", "requests", "prompt", "completion", "total"]
    assert table[1].split()[:4] == ["alice", "chat", today, "2"]
    assert table[-1].split()[:2] == ["total", "6"]
    only_bob = json.loads(continuum("usage", "--user", "bob", "--json", env=env).stdout)["data"]
    assert [(r["user"], r["requests"]) for r in only_bob] == [("bob", 3)]
    later = continuum("usage", "--since", "2999-01-01", env=env)
    assert later.returncode == 0 and "no usage recorded since 2999-01-01" in later.stdout


def test_db_upgrade_says_what_it_applied(database_env: dict[str, str]) -> None:
    env = environment(**database_env)
    first = continuum("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        f"applied {n}" for n in range(1, len(MIGRATIONS) + 1)
    ]
    assert lines[0] == "applied 1: The usage ledger and the run-time API keys."
    assert lines[-1] == f"schema at version {len(MIGRATIONS)}"
    assert first.stderr == ""  # no progress when stderr is not a terminal
    again = json.loads(continuum("db", "upgrade", "--json", env=env).stdout)
    assert again == {"version": len(MIGRATIONS), "applied": []}


def test_db_upgrade_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "continuum", "db", "upgrade"],
            env=environment(CONTINUUM_DATA_DIR=str(tmp_path)),
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=60,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert result.returncode == 0
    assert f"migrating: {len(MIGRATIONS)}/{len(MIGRATIONS)}".encode() in shown
    assert "migrating" not in result.stdout  # stdout stays the script's


def test_a_database_that_cannot_be_reached_is_a_runtime_failure(tmp_path: Path) -> None:
    env = environment(
        CONTINUUM_DATA_DIR=str(tmp_path),
        CONTINUUM_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none",
    )
    result = continuum("keys", "list", env=env)
    assert result.returncode == 1 and result.stderr.startswith("continuum: ")
    assert "Traceback" not in result.stderr
