"""Run an ASGI app (a Continuum gateway, a fake upstream) on a real socket in a thread.

with serve_in_thread(create_app(settings)) as base_url:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: Any, port: int | None = None, **options: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields its base URL.

    ``options`` are uvicorn's (``loop="uvloop"``, as ``continuum serve`` runs, say, or
    the gateway's own ``continuum.doors.http.server.server_options(settings)``).
    """
    port = port or free_port()
    # The WebSocket protocol continuum serve uses (the gateway's doors/ws/protocol.py).
    from continuum.doors.ws.protocol import CorkedWebSockets

    defaults: dict[str, Any] = {
        "loop": "asyncio",
        "http": "httptools",
        "ws": CorkedWebSockets,
        "lifespan": "on",
    }
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **{**defaults, **options}
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"serve:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
