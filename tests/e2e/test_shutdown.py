"""SIGTERM against ``continuum serve`` with a stream that would run for minutes: open
requests get ``CONTINUUM_SHUTDOWN_TIMEOUT``, then are cancelled and the process exits
(uvicorn alone waits for every response to end on its own)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from continuum.testing.server import free_port
from tests.e2e.test_cli import read_until, serve

KEY = "e2e-shutdown-token-00000001"


def test_sigterm_with_a_long_stream_open_exits_within_the_shutdown_timeout(
    tmp_path: Path,
) -> None:
    config = tmp_path / "conf"
    config.mkdir()
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: "e2e", permissions: "*"}}\n'
    )
    (config / "models.yml").write_text(
        "models:\n  - {id: slow, provider: local, upstream_model: echo, token_delay: 1.0}\n"
    )
    port = free_port()
    env = {
        "CONTINUUM_PORT": str(port),
        "CONTINUUM_CONFIG_DIR": str(config),
        "CONTINUUM_DATA_DIR": str(tmp_path / "state"),
        "CONTINUUM_SHUTDOWN_TIMEOUT": "1",
    }
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "w " * 300}]}
    received: list[str] = []
    first = threading.Event()

    def stream() -> None:
        headers = {"Authorization": f"Bearer {KEY}"}
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
                for line in response.iter_lines():
                    received.append(line)
                    first.set()
        except httpx.HTTPError:
            pass  # the server cut it at shutdown

    with serve(tmp_path, env=env) as (process, lines):
        read_until(process, lines, "Uvicorn running on")
        client = threading.Thread(target=stream, daemon=True)
        client.start()
        assert first.wait(15)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)  # unbounded, it would wait out the 300 s answer
        took = time.monotonic() - started
        client.join(10)
    assert code == 0
    assert took < 10, f"shutdown took {took:.1f} s"
    assert not any(line == "data: [DONE]" for line in received)  # it was cut, not finished
