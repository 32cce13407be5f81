"""``continuum serve`` as a user runs it: a real process, its printed credential, its data dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai

from continuum.testing.server import free_port

KEY_LINE = re.compile(r"Sample credential \(stored in (?P<path>.+)\): (?P<key>ck-\S+)")


@contextmanager
def serve(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "continuum", "serve", *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        yield process, lines
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def read_until(
    process: subprocess.Popen[str], lines: list[str], pattern: str, timeout: float = 20
) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if pattern in line:
            return line
    raise AssertionError(f"{pattern!r} never printed; output so far: {''.join(lines)}")


def test_embedded_default_prints_a_working_credential_and_keeps_it(tmp_path: Path) -> None:
    port = free_port()
    with serve(tmp_path, "--port", str(port)) as (process, lines):
        match = KEY_LINE.search(read_until(process, lines, "Sample credential"))
        assert match is not None
        curl = read_until(process, lines, "curl ")
        assert f"http://127.0.0.1:{port}/v1/chat/completions" in curl and match["key"] in curl
        read_until(process, lines, "Application startup complete")
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=match["key"], max_retries=0
        )
        reply = client.chat.completions.create(
            model="local-echo", messages=[{"role": "user", "content": "ping"}]
        )
        assert reply.choices[0].message.content == "ping"
    stored = (tmp_path / "data" / "sample-key").read_text().strip()
    assert stored == match["key"]
    port = free_port()
    with serve(tmp_path, "--port", str(port)) as (process, lines):
        again = KEY_LINE.search(read_until(process, lines, "Sample credential"))
        assert again is not None and again["key"] == stored


def test_environment_configures_the_server(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    config.mkdir()
    (config / "users.yml").write_text(
        'users:\n  - {token: "env-configured-token-123", name: "env", permissions: "*"}\n'
    )
    port = free_port()
    env = {
        "CONTINUUM_PORT": str(port),
        "CONTINUUM_CONFIG_DIR": str(config),
        "CONTINUUM_DATA_DIR": str(tmp_path / "state"),
        "CONTINUUM_LOG_LEVEL": "info",
    }
    with serve(tmp_path, env=env) as (process, lines):
        read_until(process, lines, "Application startup complete")
        assert not any("Sample credential" in line for line in lines)
        headers = {"Authorization": "Bearer env-configured-token-123"}
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers=headers).json()
        assert {m["id"] for m in models["data"]} == {"local-echo", "local-text", "local-embed"}


def test_refuses_public_bind_with_the_sample_credential(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "continuum",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0 with the sample credential" in result.stderr
    assert "Fix:" in result.stderr


def test_invalid_config_fails_at_start_naming_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "users.yml").write_text(
        'users:\n  - {token: "0123456789abcdef-x", name: "a", rate_limit: "fast"}\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "continuum",
            "serve",
            "--config-dir",
            str(tmp_path),
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"{tmp_path / 'users.yml'}: users[0].rate_limit:" in result.stderr
    assert "Uvicorn running" not in result.stderr + result.stdout


def test_version_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "continuum", "--version"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout.startswith("continuum ")
