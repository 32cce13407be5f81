"""Config reload against ``continuum serve`` in a real process: SIGHUP while a stream runs
(it completes; the next request sees the new config), a broken file (refused, logged, the
old config keeps serving), ``--workers 2`` (the supervisor forwards SIGHUP to each worker)
and CONTINUUM_CONFIG_WATCH (a changed file reloads with no signal)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from continuum.testing.server import free_port
from tests.e2e.test_cli import read_until, serve

OLD_KEY = "ck-reload-old-user-000000001"
NEW_KEY = "ck-reload-new-user-000000002"
WORDS = " ".join(f"word{i}" for i in range(40))
MODELS = """
models:
  - {id: "slow", provider: "local", upstream_model: "echo", token_delay: 0.15}
  - {id: "kept", provider: "local", upstream_model: "echo"}
  - {id: "doomed", provider: "local", upstream_model: "echo"}
"""
NEW_MODELS = """
models:
  - {id: "slow", provider: "local", upstream_model: "echo", token_delay: 0.15}
  - {id: "kept", provider: "local", upstream_model: "echo"}
"""


def users(*keys: tuple[str, str]) -> str:
    lines = [f'  - {{token: "{key}", name: "{name}", permissions: "*"}}' for key, name in keys]
    return "users:\n" + "\n".join(lines) + "\n"


def write_config(config: Path) -> None:
    config.mkdir(exist_ok=True)
    (config / "models.yml").write_text(MODELS)
    (config / "users.yml").write_text(users((OLD_KEY, "old")))
    (config / "agents.yml").write_text('agents: [{name: "helper", model: "kept"}]\n')


def ask(url: str, key: str, model: str = "kept") -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


def model_ids(url: str, key: str) -> set[str]:
    response = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"})
    return {model["id"] for model in response.json()["data"]}


def test_sighup_during_a_stream_swaps_the_config_and_the_stream_completes(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    write_config(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ("--port", str(port), "--config-dir", str(config), "--data-dir", str(tmp_path / "d"))
    with serve(tmp_path, *args) as (process, lines):
        read_until(process, lines, "Uvicorn running")
        assert model_ids(url, OLD_KEY) == {"slow", "kept", "doomed", "agent/helper"}
        assert ask(url, NEW_KEY).status_code == 401
        body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": WORDS}]}
        headers = {"Authorization": f"Bearer {OLD_KEY}"}
        with httpx.stream(
            "POST", f"{url}/v1/chat/completions", json=body, headers=headers, timeout=60
        ) as stream:
            events = stream.iter_lines()
            first = next(line for line in events if line.startswith("data: "))
            assert json.loads(first[6:])["choices"]
            # The new config: a new user instead of the old one, one model fewer, no agents.
            (config / "models.yml").write_text(NEW_MODELS)
            (config / "users.yml").write_text(users((NEW_KEY, "new")))
            (config / "agents.yml").write_text("agents: []\n")
            process.send_signal(signal.SIGHUP)
            read_until(process, lines, "config reloaded")
            # The stream is still running, on the route and key it started with ...
            assert ask(url, NEW_KEY).status_code == 200
            assert ask(url, OLD_KEY).status_code == 401
            gone = ask(url, NEW_KEY, model="doomed")
            assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
            assert model_ids(url, NEW_KEY) == {"slow", "kept"}
            rest = [line for line in events if line.startswith("data: ")]
        # ... and it completes whole after the swap.
        assert rest and rest[-1] == "data: [DONE]"
        chunks = [json.loads(first[6:])] + [json.loads(line[6:]) for line in rest[:-1]]
        text = "".join(
            c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
        )
        assert text == WORDS
        assert any(c["choices"] and c["choices"][0].get("finish_reason") == "stop" for c in chunks)
        assert process.poll() is None


def test_a_broken_file_is_refused_and_the_old_config_keeps_serving(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    write_config(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ("--port", str(port), "--config-dir", str(config), "--data-dir", str(tmp_path / "d"))
    with serve(tmp_path, *args) as (process, lines):
        read_until(process, lines, "Uvicorn running")
        # A valid users.yml beside a broken models.yml: nothing of the new config is taken.
        (config / "users.yml").write_text(users((NEW_KEY, "new")))
        (config / "models.yml").write_text('models:\n  - {id: "x", provider: "nope"}\n')
        process.send_signal(signal.SIGHUP)
        refused = read_until(process, lines, "config reload refused")
        assert "models.yml: models[0].deployments[0].provider: unknown provider 'nope'" in refused
        assert NEW_KEY not in "".join(lines)
        assert ask(url, OLD_KEY).status_code == 200
        assert ask(url, NEW_KEY).status_code == 401
        assert model_ids(url, OLD_KEY) == {"slow", "kept", "doomed", "agent/helper"}
        # Fixed, it is taken on the next SIGHUP.
        (config / "models.yml").write_text(NEW_MODELS)
        process.send_signal(signal.SIGHUP)
        read_until(process, lines, "config reloaded")
        assert ask(url, NEW_KEY).status_code == 200
        assert process.poll() is None


def test_workers_each_reload_on_sighup_to_the_supervisor(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    write_config(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ("--port", str(port), "--config-dir", str(config), "--data-dir", str(tmp_path / "d"))
    with serve(tmp_path, *args, "--workers", "2") as (process, lines):
        for _ in range(2):
            read_until(process, lines, "Application startup complete", timeout=60)
        (config / "users.yml").write_text(users((NEW_KEY, "new")))
        process.send_signal(signal.SIGHUP)
        read_until(process, lines, "config reloaded")
        read_until(process, lines, "config reloaded")  # both workers
        # Each new connection may land on either worker: every one has the new config.
        for _ in range(8):
            assert ask(url, NEW_KEY).status_code == 200
            assert ask(url, OLD_KEY).status_code == 401
        assert "restarting processes" not in "".join(lines)  # reloaded in place
        assert process.poll() is None


@pytest.mark.parametrize("broken_first", [False, True])
def test_config_watch_reloads_a_changed_file(tmp_path: Path, broken_first: bool) -> None:
    config = tmp_path / "conf"
    write_config(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"CONTINUUM_CONFIG_WATCH": "true", "CONTINUUM_CONFIG_WATCH_INTERVAL": "0.1"}
    args = ("--port", str(port), "--config-dir", str(config), "--data-dir", str(tmp_path / "d"))
    with serve(tmp_path, *args, env=env) as (process, lines):
        read_until(process, lines, "Uvicorn running")
        if broken_first:
            (config / "users.yml").write_text("users: [oops\n")
            assert "is not valid YAML" in read_until(process, lines, "config reload refused")
            assert ask(url, OLD_KEY).status_code == 200
        (config / "users.yml").write_text(users((NEW_KEY, "new")))
        read_until(process, lines, "config reloaded")
        assert ask(url, NEW_KEY).status_code == 200
        assert ask(url, OLD_KEY).status_code == 401


def test_serve_reload_restarts_on_a_config_change(tmp_path: Path) -> None:
    """``--reload`` (development): uvicorn's reloader watches the config dir too."""
    config = tmp_path / "conf"
    write_config(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ("--port", str(port), "--config-dir", str(config), "--data-dir", str(tmp_path / "d"))
    with serve(tmp_path, *args, "--reload") as (process, lines):
        read_until(process, lines, "Application startup complete", timeout=60)
        assert ask(url, OLD_KEY).status_code == 200
        (config / "users.yml").write_text(users((NEW_KEY, "new")))
        read_until(process, lines, "Reloading", timeout=60)
        read_until(process, lines, "Application startup complete", timeout=60)
        assert ask(url, NEW_KEY).status_code == 200
        assert ask(url, OLD_KEY).status_code == 401
