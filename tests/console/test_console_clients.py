"""The console's two stream clients, run in Chromium against scripted servers.

``sse.js`` is fed event streams split at every offset; ``ws.js`` talks to a scripted
endpoint that speaks seed 000's WebSocket protocol as issue 10 specifies it (the real
door is tested through the console in test_console_browser.py once it lands). The
scripted endpoint sits on the console's own origin, so the page keeps its real policy.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from continuum.doors.http import console
from continuum.testing.server import serve_in_thread
from tests.console.conftest import ConsolePage, open_console


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-ws1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class Scripted:
    """A WebSocket endpoint answering by model name, remembering what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, websocket: WebSocket) -> None:
        await websocket.accept()
        request = json.loads(await websocket.receive_text())
        self.received.append(request)
        model = request.get("model")
        if model == "ok":
            for piece in ("Hello", ", ", "world"):
                await websocket.send_text(json.dumps(chunk(piece)))
            await websocket.send_text(json.dumps(chunk(finish="stop")))
            usage = {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
            await websocket.send_text(json.dumps({**chunk(), "choices": [], "usage": usage}))
        elif model == "no-usage":
            await websocket.send_text(json.dumps(chunk("only")))
            await websocket.send_text(json.dumps(chunk(finish="stop")))
            await websocket.close()
        elif model == "refused":
            error = {"message": "Rate limit exceeded", "type": "rate_limit_error",
                     "param": None, "code": "rate_limit_exceeded"}  # fmt: skip
            await websocket.send_text(json.dumps({"error": error}))
            with contextlib.suppress(WebSocketDisconnect):
                await websocket.receive_text()  # the client leaves; the door would stay open
        else:  # "cut": the connection drops mid-answer
            await websocket.send_text(json.dumps(chunk("partial")))
            await websocket.close(code=1011)


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[str, Scripted]]:
    app = FastAPI()
    app.include_router(console.router)
    endpoint = Scripted()
    app.add_api_websocket_route("/v1/chat/completions/ws", endpoint)
    with serve_in_thread(app) as url:
        yield url, endpoint


@pytest.fixture
def page(browser: Any, scripted: tuple[str, Scripted]) -> Iterator[ConsolePage]:
    for ui in open_console(browser, scripted[0]):
        ui.page.goto(f"{scripted[0]}/ui/")
        ui.page.wait_for_selector("#login:not([hidden])")
        yield ui


SSE_STREAM = (
    'data: {"n":1}\n\n'
    ": a comment line, as keep-alives are\n\n"
    'data: {"n":2}\r\n\r\n'
    "event: message\nid: 7\ndata: two\ndata: lines\n\n"
    "data:no-space\r\rdata: [DONE]\n\n"
)


def test_sse_parser_gives_the_same_events_however_the_bytes_are_split(page: ConsolePage) -> None:
    results = page.page.evaluate(
        """async (text) => {
            const { sseData } = await import('./js/sse.js');
            const bytes = new TextEncoder().encode(text);
            const runs = [];
            for (let size = 1; size <= bytes.length; size++) {
                const stream = new ReadableStream({
                    start(controller) {
                        for (let i = 0; i < bytes.length; i += size)
                            controller.enqueue(bytes.slice(i, i + size));
                        controller.close();
                    },
                });
                const events = [];
                for await (const data of sseData(stream)) events.push(data);
                runs.push(events);
            }
            return runs;
        }""",
        SSE_STREAM,
    )
    expected = ['{"n":1}', '{"n":2}', "two\nlines", "no-space", "[DONE]"]
    assert len(results) == len(SSE_STREAM.encode())
    for size, events in enumerate(results, start=1):
        assert events == expected, f"split every {size} bytes"


def run_ws(page: ConsolePage, model: str) -> dict[str, Any]:
    result: dict[str, Any] = page.page.evaluate(
        """async (model) => {
            sessionStorage.setItem('continuum.key', 'sk-ws-test-key-0123456789');
            const { chatWs } = await import('./js/ws.js');
            const chunks = [];
            try {
                for await (const chunk of chatWs({
                    model, messages: [{ role: 'user', content: 'hi' }],
                    settings: { temperature: 0.5 },
                })) chunks.push(chunk);
                return { chunks };
            } catch (error) {
                return { chunks, error: error.message, name: error.name, code: error.code ?? null };
            }
        }""",
        model,
    )
    return result


def test_ws_client_sends_seed_000s_request_and_reads_chunks_and_usage(
    page: ConsolePage, scripted: tuple[str, Scripted]
) -> None:
    result = run_ws(page, "ok")
    assert "error" not in result
    text = "".join(
        c["choices"][0]["delta"].get("content", "") for c in result["chunks"] if c["choices"]
    )
    assert text == "Hello, world"
    assert result["chunks"][-1]["usage"]["completion_tokens"] == 3
    assert scripted[1].received[-1] == {
        "token": "sk-ws-test-key-0123456789",
        "model": "ok",
        "messages": [{"role": "user", "content": "hi"}],
        "settings": {"temperature": 0.5, "stream_options": {"include_usage": True}},
    }


def test_ws_client_ends_at_finish_reason_when_no_usage_follows(page: ConsolePage) -> None:
    result = run_ws(page, "no-usage")
    assert "error" not in result
    assert [c["choices"][0]["finish_reason"] for c in result["chunks"]] == [None, "stop"]


def test_ws_client_reports_the_error_object(page: ConsolePage) -> None:
    result = run_ws(page, "refused")
    assert result["chunks"] == []
    assert result["error"] == "Rate limit exceeded"
    assert result["code"] == "rate_limit_exceeded"


def test_ws_client_reports_a_connection_cut_mid_answer(page: ConsolePage) -> None:
    result = run_ws(page, "cut")
    assert len(result["chunks"]) == 1
    assert "closed mid-answer" in result["error"]
