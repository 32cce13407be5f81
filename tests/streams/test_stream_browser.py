"""Seed 002's frontend code in headless Chromium, on a page of another origin (CORS),
against a real gateway: it gets exactly the text ``/v1/chat/completions`` gives, and
EventSource's own reconnect after the network drops mid-stream ends with the whole text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from continuum.testing.server import serve_in_thread
from tests.browser import chromium
from tests.streams.conftest import init_token, plain_text, serving, stream_env
from tests.streams.proxy import CuttableProxy

# Seed 002's ``connectToStream``, verbatim; ``startChat`` posts to /init-stream itself
# (in the seed it calls the app's backend, which calls /init-stream with the n8nToken).
SEED_FRONTEND = """
const startChat = async (prompt, options = {}) => {
  const response = await fetch(GATEWAY + '/init-stream', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({
      n8nToken: options.n8nToken,
      prompt,
      model: options.model || 'gpt-4o-mini',
      max_tokens: options.maxTokens || 4096,
      userId: options.userId,
      chatId: options.chatId
    })
  });
  const { streamUrl } = await response.json();
  return streamUrl;
};

const connectToStream = (streamUrl, {
  onMessage = console.log,
  onError = console.error,
  onComplete = () => {}
} = {}) => {
  const eventSource = new EventSource(streamUrl);

  eventSource.onmessage = (event) => {
    if (event.data === "[DONE]") {
      eventSource.close();
      onComplete();
    } else {
      onMessage(event.data);
    }
  };

  eventSource.onerror = (error) => {
    console.error('SSE Error:', error);
    eventSource.close();
    onError(error);
  };

  return eventSource;
};
"""

# A reader that keeps EventSource's own reconnect (no close on a connection error).
RECONNECTING = """
window.watch = (streamUrl) => {
  window.got = ''; window.pieces = 0; window.opens = 0; window.drops = 0; window.done = false;
  const source = new EventSource(streamUrl);
  source.onopen = () => { window.opens += 1; };
  source.onerror = () => { window.drops += 1; };
  source.onmessage = (event) => {
    if (event.data === '[DONE]') { source.close(); window.done = true; return; }
    window.got += event.data; window.pieces += 1;
  };
};
"""


@pytest.fixture
def site() -> Iterator[str]:
    """The frontend's own origin (another port than the gateway's)."""

    async def page(_request: object) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>frontend</title><body>app</body>")

    with serve_in_thread(Starlette(routes=[Route("/", page)])) as url:
        yield url


@pytest.fixture
def gateway(tmp_path: Path, site: str) -> Iterator[str]:
    with serving(stream_env(tmp_path, CONTINUUM_CORS_ORIGINS=site)) as url:
        yield url


def test_seed_frontend_gets_exactly_the_chat_completion_text(gateway: str, site: str) -> None:
    prompt = "Explain streaming\nin two lines, please."
    expected = plain_text(gateway, prompt, max_tokens=2000)
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(site)
        page.add_script_tag(content=f"const GATEWAY = {gateway!r};\n{SEED_FRONTEND}")
        result = page.evaluate(
            """async ([token]) => {
              const streamUrl = await startChat("Explain streaming\\nin two lines, please.", {
                model: "local-text", maxTokens: 2000, userId: "user_123", chatId: "chat_456",
                n8nToken: token,
              });
              return await new Promise((resolve, reject) => {
                let fullResponse = '';
                connectToStream(streamUrl, {
                  onMessage: (chunk) => { fullResponse += chunk; },
                  onError: (error) => reject(new Error('Connection lost')),
                  onComplete: () => resolve(fullResponse),
                });
              });
            }""",
            [init_token()],
        )
        assert not errors
        assert result == expected


def test_event_source_reconnects_after_the_network_drops(gateway: str, site: str) -> None:
    prompt = "a long answer, paced"
    expected = plain_text(gateway, prompt, model="local-paced")
    proxy = CuttableProxy(int(gateway.rsplit(":", 1)[1]))
    with chromium() as browser, proxy.running() as through:
        context = browser.new_context()
        page = context.new_page()
        page.goto(site)
        page.add_script_tag(content=f"const GATEWAY = {through!r};\n{SEED_FRONTEND}{RECONNECTING}")
        stream_url = page.evaluate(
            "async ([t, p]) => await startChat(p, {model: 'local-paced', n8nToken: t})",
            [init_token(), prompt],
        )
        page.evaluate("(url) => window.watch(url)", stream_url)
        page.wait_for_function("() => window.pieces >= 3")
        context.set_offline(True)  # new requests fail…
        proxy.cut()  # …and the open stream breaks, as a dropped network does
        page.wait_for_function("() => window.drops >= 1")
        page.wait_for_timeout(300)  # the generation goes on meanwhile, into the buffer
        context.set_offline(False)
        page.wait_for_function("() => window.done", timeout=30_000)
        assert page.evaluate("() => window.opens") >= 2  # it did reconnect
        assert page.evaluate("() => window.got") == expected
