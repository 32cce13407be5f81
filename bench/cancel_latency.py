"""Client disconnect -> upstream connection closed, through a real gateway (10 runs).

    .venv/bin/python bench/cancel_latency.py

Prints milliseconds between the client's close returning and the fake upstream
recording its connection closed (negative: the upstream closed first).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.fake_upstream import Fault, fake_openai
from continuum.testing.server import serve_in_thread

KEY = "sk-0123456789abcdef"


def main() -> None:
    fake = fake_openai(fault=Fault(chunk_delay=0.05, chunks=200))
    config = Path(tempfile.mkdtemp())
    body = {"model": "s", "stream": True, "messages": [{"role": "user", "content": "a b"}]}
    with fake.run_in_thread() as upstream:
        (config / "models.yml").write_text(
            "models:\n  - id: s\n    provider: openai\n"
            f"    base_url: {upstream}/v1\n    api_key: k\n"
        )
        (config / "users.yml").write_text(
            f'users:\n  - token: "{KEY}"\n    name: t\n    permissions: "*"\n'
        )
        settings = Settings.from_env({}, config_dir=config, data_dir=config)
        with serve_in_thread(create_app(settings)) as gateway:
            latencies = []
            for _ in range(10):
                url = f"{gateway}/v1/chat/completions"
                headers = {"authorization": f"Bearer {KEY}"}
                with httpx.stream("POST", url, json=body, headers=headers) as response:
                    lines = response.iter_lines()
                    next(lines)
                    next(lines)
                    connection = fake.recorder.last.connection
                gone = time.monotonic()
                closed = fake.recorder.wait_closed(connection).closed_at or gone
                latencies.append((closed - gone) * 1000)
    print(
        f"disconnect -> upstream close: median {statistics.median(latencies):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )


if __name__ == "__main__":
    main()
