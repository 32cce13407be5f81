"""Seed 000's and seed 001's JavaScript WebSocket examples, run unchanged in headless
Chromium against a real gateway: only their URL (and seed 000's token) are ours.

A module of sync tests only: the ``browser`` fixture runs Playwright's event loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.doors.world import KEY, World

# Seed 000 (README, "WebSocket Client Example"), as written.
SEED_000 = """
// Esempio client WebSocket in JavaScript
const ws = new WebSocket('ws://localhost:8080/v1/chat/completions/ws');

ws.onopen = function() {
    // Invia richiesta di chat
    ws.send(JSON.stringify({
        "token": "dev-token-strong-and-secret",
        "model": "llama3:latest",
        "messages": [{"role": "user", "content": "Ciao!"}],
        "settings": {"temperature": 0.7}
    }));
};

ws.onmessage = function(event) {
    const response = JSON.parse(event.data);
    if (response.error) {
        console.error('Error:', response.error);
    } else if (response.choices) {
        const content = response.choices[0].delta.content;
        if (content) {
            console.log('Chunk:', content);
        }
    }
};
"""

# Seed 001 ("JavaScript con WebSocket"), as written.
SEED_001 = """
const ws = new WebSocket('ws://localhost:8000/model/ws');

ws.onopen = function() {
    // Invia prompt
    ws.send(JSON.stringify({
        prompt: 'Ciao WebSocket'
    }));
};

ws.onmessage = function(event) {
    const data = JSON.parse(event.data);

    if (data.type === 'chunk') {
        console.log('Chunk:', data.content);
    } else if (data.type === 'complete') {
        console.log('Completo:', data.result);
    } else if (data.error) {
        console.error('Errore:', data.error);
    }
};
"""


class Console:
    """A fresh page whose console output is collected, each message as its JSON values."""

    def __init__(self, browser: Any):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.lines: list[tuple[str, list[Any]]] = []
        self.page.on("console", self._log)
        self.page.on("pageerror", lambda error: self.lines.append(("pageerror", [str(error)])))
        self.page.set_content("<!doctype html><title>seed example</title>")

    def _log(self, message: Any) -> None:
        self.lines.append((message.type, [arg.json_value() for arg in message.args]))

    def run(self, script: str) -> None:
        self.page.add_script_tag(content=script)

    def wait_for(self, count: int) -> list[tuple[str, list[Any]]]:
        """The first ``count`` console lines (the page's own loop fills them in)."""
        deadline = time.monotonic() + 10
        while len(self.lines) < count:
            assert time.monotonic() < deadline, f"console so far: {self.lines}"
            self.page.wait_for_timeout(20)  # lets Playwright deliver the page's events
        return self.lines[:count]


@pytest.fixture
def console(browser: Any) -> Iterator[Console]:
    page = Console(browser)
    try:
        yield page
    finally:
        page.context.close()


def test_seed_000s_example_streams_a_chat(console: Console, world: World) -> None:
    script = SEED_000.replace("ws://localhost:8080", world.ws).replace(
        "dev-token-strong-and-secret", KEY
    )
    console.run(script)
    # local echo under the seed's model name: the answer is the prompt, "Ciao" then "!".
    assert console.wait_for(2) == [("log", ["Chunk:", "Ciao"]), ("log", ["Chunk:", "!"])]
    rows = [r for r in world.rows() if r["model"] == "llama3:latest"]
    assert rows and (rows[-1]["door"], rows[-1]["status"]) == ("ws", 200)


def test_seed_000s_example_reports_an_error(console: Console, world: World) -> None:
    script = SEED_000.replace("ws://localhost:8080", world.ws)  # the seed's own token: unknown
    console.run(script)
    ((kind, (label, error)),) = console.wait_for(1)
    assert (kind, label) == ("error", "Error:")
    assert error["code"] == "invalid_api_key" and error["status"] == 401


def test_seed_001s_example_streams_a_prompt(console: Console, world: World) -> None:
    # Browsers cannot set headers on a WebSocket: the key rides in the URL.
    console.run(
        SEED_001.replace("ws://localhost:8000/model/ws", f"{world.ws}/model/ws?token={KEY}")
    )
    lines = console.wait_for(3)
    assert lines == [
        ("log", ["Chunk:", "Ciao"]),
        ("log", ["Chunk:", " WebSocket"]),
        (
            "log",
            [
                "Completo:",
                {
                    "response": "Ciao WebSocket",
                    "usage": {"total_tokens": 4, "prompt_tokens": 2, "completion_tokens": 2},
                },
            ],
        ),
    ]


def test_seed_001s_example_reports_an_error(console: Console, world: World) -> None:
    console.run(SEED_001.replace("ws://localhost:8000", world.ws))  # no key at all
    assert console.wait_for(1) == [
        (
            "error",
            [
                "Errore:",
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            ],
        )
    ]
