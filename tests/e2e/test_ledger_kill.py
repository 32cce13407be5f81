"""No usage record of an answered request is lost when the gateway is killed under load.

Issue 9's goal: SIGKILL lost the ledger's last 0.5 s (606 of 14,330 requests across six
kills). Now each record is journaled before its answer's last byte, and the next start
writes the journal into the database, each record once.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from continuum.testing.process import gateway_process

KEY = "sk-ledger-kill-test-00000001"
BODY = {"model": "local-echo", "messages": [{"role": "user", "content": "count me"}]}


def test_sigkill_under_load_loses_no_answered_request(tmp_path: Path) -> None:
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: "kill", permissions: "*"}}\n'
    )
    args = ("--config-dir", str(config), "--data-dir", str(data))
    answered: list[str] = []
    with gateway_process(*args) as gateway:

        def load() -> None:
            headers = {"authorization": f"Bearer {KEY}"}
            with httpx.Client(base_url=gateway.url, headers=headers, timeout=10) as client:
                while True:
                    try:
                        response = client.post("/v1/chat/completions", json=BODY)
                    except httpx.TransportError:
                        return  # the gateway is gone
                    if response.status_code == 200:
                        answered.append(response.headers["x-request-id"])

        workers = [threading.Thread(target=load) for _ in range(8)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 30
        while len(answered) < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        gateway.process.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        gateway.process.wait()
        for worker in workers:
            worker.join(timeout=20)
    assert len(answered) >= 400
    assert list((data / "journal").glob("*.jsonl")), "the kill left no journal to replay"

    with gateway_process(*args):  # its start writes the journal into the database
        pass
    with sqlite3.connect(data / "continuum.db") as db:
        ids = [row[0] for row in db.execute("SELECT request_id FROM continuum_usage")]
    assert set(answered) <= set(ids), f"{len(set(answered) - set(ids))} answered records lost"
    assert len(ids) == len(set(ids))  # and none counted twice
    assert list((data / "journal").glob("*.jsonl")) == []
