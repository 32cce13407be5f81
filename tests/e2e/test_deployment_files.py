"""The Dockerfile and compose file cannot be built here (no Docker engine); test what can be."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from continuum.testing.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_has_the_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"continuum", "redis", "postgres", "ollama"}
    gateway = services["continuum"]
    assert "./config:/config:ro" in gateway["volumes"]  # read-only config
    env = gateway["environment"]
    assert env["CONTINUUM_REDIS_URL"] == "redis://redis:6380/0"
    assert "6380" in services["redis"]["command"]  # the non-default port the URL names
    assert env["CONTINUUM_DATABASE_URL"].startswith("postgresql://")
    assert set(gateway["depends_on"]) == {"redis", "postgres"}


def _dockerfile() -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            lines.setdefault(word, []).append(rest.strip())
    return lines


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    lines = _dockerfile()
    assert len(lines["FROM"]) == 2 and "AS build" in lines["FROM"][0]
    assert lines["USER"] == ["continuum"]
    assert any("/health" in line for line in lines["HEALTHCHECK"])
    assert lines["ENTRYPOINT"] == ['["continuum"]'] and lines["CMD"] == ['["serve"]']


def test_the_image_entry_command_runs_as_configured(tmp_path: Path) -> None:
    """Run ``continuum serve`` with the image's environment (ENV lines), as its ENTRYPOINT would."""
    env_line = " ".join(_dockerfile()["ENV"])
    image_env = dict(item.split("=", 1) for item in env_line.split())
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.yml").write_text(
        'users:\n  - {token: "docker-entry-token-0001", name: "ops", permissions: "*"}\n'
    )
    config.chmod(0o555)  # mounted read-only
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env |= image_env | {
        "CONTINUUM_CONFIG_DIR": str(config),
        "CONTINUUM_DATA_DIR": str(tmp_path / "data"),
        "CONTINUUM_PORT": str(port),
    }
    assert image_env["CONTINUUM_HOST"] == "0.0.0.0"
    process = subprocess.Popen(
        [sys.executable, "-m", "continuum", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert health.json()["status"] == "ok"
        models = httpx.get(
            f"http://127.0.0.1:{port}/v1/models",
            headers={"Authorization": "Bearer docker-entry-token-0001"},
        )
        assert models.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
        config.chmod(0o755)
