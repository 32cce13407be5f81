"""The WebSocket doors under ``continuum serve`` itself (uvloop, uvicorn's WebSocket
implementation, the body limit handed to uvicorn as its message limit)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from continuum.testing.server import free_port
from tests.e2e.test_cli import read_until, serve

KEY = "e2e-websocket-token-0000001"


def test_the_websocket_doors_under_continuum_serve(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    config.mkdir()
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: "e2e", permissions: "*"}}\n'
    )
    port = free_port()
    env = {
        "CONTINUUM_PORT": str(port),
        "CONTINUUM_CONFIG_DIR": str(config),
        "CONTINUUM_DATA_DIR": str(tmp_path / "state"),
        "CONTINUUM_MAX_BODY_BYTES": "65536",
        "CONTINUUM_DEFAULT_MODEL": "local-echo",
    }
    with serve(tmp_path, env=env) as (process, lines):
        read_until(process, lines, "Uvicorn running on")  # bound: ready for connections
        base = f"ws://127.0.0.1:{port}"
        with connect(f"{base}/v1/chat/completions/ws") as ws:
            request = {
                "token": KEY,
                "model": "local-echo",
                "messages": [{"role": "user", "content": "hi there"}],
            }
            ws.send(orjson.dumps(request).decode())
            text = ""
            while True:
                chunk = orjson.loads(ws.recv(timeout=10))
                text += chunk["choices"][0]["delta"].get("content") or ""
                if chunk["choices"][0]["finish_reason"]:
                    break
            assert text == "hi there"
        with connect(f"{base}/model/ws?token={KEY}") as ws:
            ws.send(orjson.dumps({"prompt": "Ciao WebSocket"}).decode())
            messages = []
            while not messages or messages[-1].get("type") != "complete":
                messages.append(orjson.loads(ws.recv(timeout=10)))
            assert messages[-1]["result"]["response"] == "Ciao WebSocket"
        with connect(f"{base}/model/ws?token={KEY}", max_size=None) as ws:
            ws.send(orjson.dumps({"prompt": "x" * 70_000}).decode())
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
