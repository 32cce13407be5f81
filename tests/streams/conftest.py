"""Seed 002's streams on real sockets: gateways with a JWT and a webhook secret, the
models the tests need (a paced one, so a client can leave mid-generation), a client
that reads ``/stream/{id}`` as ``EventSource`` does."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from continuum.app import create_app
from continuum.auth.jwt import mint_init_token
from continuum.providers.codecs.sse import ServerSentEvent, SSEDecoder
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread

JWT_SECRET = "continuum-test-jwt-secret-" + "0123456789abcdef" * 3
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"continuum-test-webhook-secret-32b").decode()
KEY = "sk-test-streams-0123456789"
# local-slow paces its tokens, so a reader can leave and come back mid-generation.
MODELS_YML = """
models:
  - {id: "local-text", provider: "local", upstream_model: "text"}
  - {id: "local-slow", provider: "local", upstream_model: "text", token_delay: 0.01}
  - {id: "local-brisk", provider: "local", upstream_model: "text", token_delay: 0.003}
  - {id: "local-paced", provider: "local", upstream_model: "text", token_delay: 0.05}
  - {id: "local-crawl", provider: "local", upstream_model: "text", token_delay: 0.25}
  - {id: "local-echo", provider: "local", upstream_model: "echo"}
"""
USERS_YML = f"""
users:
  - token: "{KEY}"
    name: "alice"
    permissions: ["local-text", "local-slow", "local-paced", "local-brisk"]
"""
ADMIN_KEY = "sk-test-streams-admin-0123456789"


def config_dir(root: Path) -> Path:
    folder = root / "config"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.yml").write_text(MODELS_YML)
    (folder / "users.yml").write_text(USERS_YML)
    return folder


def stream_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a gateway serving streams (with callbacks to loopback)."""
    return {
        "CONTINUUM_DATA_DIR": str(root / "data"),
        "CONTINUUM_CONFIG_DIR": str(config_dir(root)),
        "CONTINUUM_JWT_SECRET": JWT_SECRET,
        "CONTINUUM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CONTINUUM_CALLBACK_ALLOW_PRIVATE": "true",
        "CONTINUUM_STREAM_HEARTBEAT": "0.2",
        **extra,
    }


def init_token(**claims: Any) -> str:
    return mint_init_token(secret=JWT_SECRET, ttl=600, claims=claims)


@contextmanager
def serving(env: Mapping[str, str], **options: Any) -> Iterator[str]:
    with serve_in_thread(create_app(Settings.from_env(dict(env))), **options) as url:
        yield url


def init(url: str, prompt: str = "tell me about streams", **body: Any) -> str:
    """``POST /init-stream``; the ``streamUrl``."""
    payload = {"n8nToken": init_token(), "prompt": prompt, "model": "local-text", **body}
    response = httpx.post(f"{url}/init-stream", json=payload)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is True and set(answer) == {"ok", "streamUrl"}
    stream_url: str = answer["streamUrl"]
    return stream_url


def plain_text(url: str, prompt: str, model: str = "local-text", **extra: Any) -> str:
    """What ``/v1/chat/completions`` answers for the same request."""
    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {KEY}"},
        json={"model": model, "messages": [{"role": "user", "content": prompt}], **extra},
    )
    assert response.status_code == 200, response.text
    text: str = response.json()["choices"][0]["message"]["content"]
    return text


@dataclass
class Read:
    """What one connection to ``/stream/{id}`` delivered."""

    status: int
    events: list[ServerSentEvent] = field(default_factory=list)
    comments: int = 0

    @property
    def text(self) -> str:
        return "".join(e.data for e in self.events if e.event == "message" and e.data != "[DONE]")

    @property
    def last_id(self) -> str | None:
        ids = [e.id for e in self.events if e.id is not None]
        return ids[-1] if ids else None

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1].data == "[DONE]"


def read_stream(
    stream_url: str,
    *,
    last_event_id: str | None = None,
    stop_after: int | None = None,
    base: str | None = None,
    timeout: float = 30,
) -> Read:
    """Read ``stream_url`` (through another replica's ``base`` if given) as EventSource
    does; leave after ``stop_after`` events when given."""
    if base is not None:
        stream_url = base + stream_url[stream_url.index("/stream/") :]
    headers = {"last-event-id": last_event_id} if last_event_id else {}
    decoder = SSEDecoder()
    with httpx.stream("GET", stream_url, headers=headers, timeout=timeout) as response:
        read = Read(response.status_code)
        if response.status_code != 200:
            response.read()
            return read
        for chunk in response.iter_raw():
            read.comments += chunk.count(b"\n: heartbeat\n") + chunk.startswith(b": heartbeat")
            for event in decoder.feed(chunk):
                if event.data == "" and event.event == "message" and event.id is None:
                    continue
                read.events.append(event)
                if stop_after is not None and len(read.events) >= stop_after:
                    return read
    return read


def unique_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"
