"""``/init-stream`` and ``/stream/{id}`` on a real socket: seed 002's shapes, the SSE a
browser's EventSource reads, resuming by Last-Event-ID, and what is refused."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt
import pytest

from continuum.app import build_gateway, create_app
from continuum.auth.jwt import StreamTokens, mint_init_token
from continuum.core.routes import Deployment, ModelRoute
from continuum.errors import UpstreamUnavailable
from continuum.sessions import Cursor
from continuum.settings import Settings
from continuum.testing.clock import ManualClock
from continuum.testing.scripted import ScriptedProvider, break_after, ok, stall
from continuum.testing.server import serve_in_thread
from tests.streams.conftest import (
    ADMIN_KEY,
    JWT_SECRET,
    init,
    init_token,
    plain_text,
    read_stream,
    serving,
    stream_env,
)


@pytest.fixture
def url(tmp_path: Path) -> str:
    env = stream_env(tmp_path, CONTINUUM_ADMIN_KEY=ADMIN_KEY)
    with serving(env) as base:
        yield base  # type: ignore[misc]


def _split(stream_url: str) -> tuple[str, str]:
    path, _, query = stream_url.partition("?access_token=")
    return path.rsplit("/", 1)[-1], query


def test_a_stream_is_the_plain_answer_with_cursors_and_done(url: str) -> None:
    stream_url = init(url, "what is a stream?", userId="u1", chatId="c1", max_tokens=4096)
    assert stream_url.startswith(f"{url}/stream/") and "?access_token=" in stream_url
    read = read_stream(stream_url)
    assert read.status == 200 and read.done
    assert read.text == plain_text(url, "what is a stream?", max_tokens=4096)
    cursors = [Cursor.parse(e.id) for e in read.events if e.id is not None]
    assert len(cursors) == len(read.events)  # every event has an id
    assert len({c.epoch for c in cursors}) == 1
    assert [c.offset for c in cursors] == list(range(1, len(cursors) + 1))


def test_reconnecting_after_any_event_resumes_exactly_after_it(url: str) -> None:
    stream_url = init(url, "resume me")
    whole = read_stream(stream_url)
    for cut in range(1, len(whole.events)):
        first = read_stream(stream_url, stop_after=cut)
        rest = read_stream(stream_url, last_event_id=first.last_id)
        assert first.text + rest.text == whole.text and rest.done
        assert [e.id for e in first.events + rest.events] == [e.id for e in whole.events]
    by_query = read_stream(f"{stream_url}&last_event_id={whole.events[2].id}")
    assert by_query.events == whole.events[3:]
    # After the last event nothing follows: 204 tells EventSource to stop reconnecting.
    assert read_stream(stream_url, last_event_id=whole.last_id).status == 204


def test_a_cursor_that_cannot_be_honoured_gets_an_explicit_reset(url: str) -> None:
    stream_url = init(url, "reset me")
    whole = read_stream(stream_url)
    epoch = Cursor.parse(whole.events[0].id or "").epoch
    for cursor, reason in [
        ("garbage", "invalid_cursor"),
        ("0123456789ab-3", "stale_epoch"),
        (f"{epoch}-99999", "ahead"),
    ]:
        read = read_stream(stream_url, last_event_id=cursor)
        assert read.status == 200 and [e.event for e in read.events] == ["reset"], cursor
        reset = read.events[0]
        assert reason in reset.data
        assert reset.id == f"{epoch}-0"  # EventSource's own reconnect replays it all
        replay = read_stream(stream_url, last_event_id=reset.id)
        assert replay.events == whole.events


def test_pieces_with_newlines_failures_and_heartbeats(tmp_path: Path) -> None:
    text = "first line\nsecond line\n\n  indented: yes\n"
    provider = ScriptedProvider(
        {
            "lines": [ok(text)],
            "broken": [break_after(3, UpstreamUnavailable("the upstream went away"))],
            "stalled": [stall(1.0, "late")],
        }
    )
    settings = Settings.from_env(stream_env(tmp_path))
    gateway = build_gateway(settings, providers={"scripted": provider})
    for name in ("lines", "broken", "stalled"):
        gateway.pipeline.table.add(ModelRoute(name, (Deployment("scripted", name),)))
    with serve_in_thread(create_app(gateway=gateway)) as base:
        lines = read_stream(init(base, "p", model="lines"))
        assert lines.text == text and lines.done
        broken = read_stream(init(base, "p", model="broken"))
        assert broken.text == "a b c" and not broken.done
        assert broken.events[-1].event == "error"
        assert '"code":"upstream_unavailable"' in broken.events[-1].data
        stalled = read_stream(init(base, "p", model="stalled"))
        assert stalled.text == "late" and stalled.comments >= 1


def test_init_stream_bodies_are_checked_field_by_field(url: str) -> None:
    token = init_token()
    cases = [
        ({"n8nToken": token}, "prompt"),
        ({"n8nToken": token, "prompt": ""}, "prompt"),
        ({"n8nToken": token, "prompt": "p", "max_tokens": "many"}, "max_tokens"),
        ({"n8nToken": token, "prompt": "p", "max_tokens": 0}, "max_tokens"),
        ({"n8nToken": token, "prompt": "p", "userId": ["x"]}, "userId"),
        ({"n8nToken": token, "prompt": "p", "resumeUrl": "ftp://example.com/x"}, "resumeUrl"),
    ]
    for body, field in cases:
        response = httpx.post(f"{url}/init-stream", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["param"] == field
    bad_json = httpx.post(f"{url}/init-stream", content=b"{nope")
    assert bad_json.status_code == 400
    # Unknown fields are ignored; ids may be numbers; the default model is taken.
    ignored = httpx.post(
        f"{url}/init-stream",
        json={"n8nToken": token, "prompt": "p", "userId": 7, "somethingElse": {"a": 1}},
    )
    assert ignored.status_code == 200, ignored.text


@pytest.mark.parametrize(
    "make",
    [
        lambda: None,
        lambda: "not-a-jwt",
        lambda: mint_init_token(secret=JWT_SECRET, ttl=-30),  # expired
        lambda: mint_init_token(secret="another-secret-0123456789abcdef0123", ttl=60),
        lambda: init_token()[:-3] + "abc",  # tampered signature
        lambda: jwt.encode({"exp": int(time.time()) + 60}, None, algorithm="none"),
        lambda: jwt.encode({"iat": int(time.time())}, JWT_SECRET, algorithm="HS256"),  # no exp
        lambda: jwt.encode({"exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS512"),
    ],
)
def test_bad_init_tokens_are_refused(url: str, make: object) -> None:
    token = make()  # type: ignore[operator]
    response = httpx.post(f"{url}/init-stream", json={"n8nToken": token, "prompt": "p"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_token"


def test_bad_access_tokens_are_refused_on_every_connect(url: str) -> None:
    stream_url = init(url)
    other_url = init(url)
    stream_id, token = _split(stream_url)
    _, other_token = _split(other_url)
    base = f"{url}/stream/{stream_id}"
    past = StreamTokens(JWT_SECRET, clock=lambda: time.time() - 3600)
    for bad in [
        f"{base}",
        f"{base}?access_token={other_token}",  # another stream's
        f"{base}?access_token={token[:-2]}xx",  # tampered
        f"{base}?access_token={past.mint(stream_id)}",  # expired
        f"{base}?access_token={init_token(sub=stream_id)}",  # an init token is no access token
    ]:
        response = httpx.get(bad)
        assert response.status_code == 401, bad
        assert token not in response.text
    assert read_stream(stream_url).done
    header = httpx.get(base, headers={"authorization": f"Bearer {token}"})
    assert header.status_code == 200


def test_a_resume_url_into_private_networks_is_refused(tmp_path: Path) -> None:
    env = stream_env(tmp_path, CONTINUUM_CALLBACK_ALLOW_PRIVATE="false")
    with serving(env) as base:
        for target in [
            "http://127.0.0.1:5678/webhook",
            "http://10.0.0.8/webhook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://localhost/x",
        ]:
            response = httpx.post(
                f"{base}/init-stream",
                json={"n8nToken": init_token(), "prompt": "p", "resumeUrl": target},
            )
            assert response.status_code == 400, target
            assert response.json()["error"]["param"] == "resumeUrl"
            assert response.json()["error"]["code"] == "forbidden_url"
    with serving(stream_env(tmp_path / "dev")) as base:  # allowed for development…
        assert init(base, resumeUrl="http://127.0.0.1:5678/webhook")
        metadata = httpx.post(  # …but never the cloud's metadata endpoint
            f"{base}/init-stream",
            json={"n8nToken": init_token(), "prompt": "p", "resumeUrl": "http://169.254.169.254/"},
        )
        assert metadata.status_code == 400


def test_without_a_jwt_secret_init_stream_says_what_to_configure(tmp_path: Path) -> None:
    env = stream_env(tmp_path)
    del env["CONTINUUM_JWT_SECRET"]
    with serving(env) as base:
        response = httpx.post(f"{base}/init-stream", json={"n8nToken": "x", "prompt": "p"})
        assert response.status_code == 503
        assert "CONTINUUM_JWT_SECRET" in response.json()["error"]["message"]


def test_an_unattached_stream_expires_after_its_ttl(tmp_path: Path) -> None:
    clock = ManualClock()
    settings = Settings.from_env(stream_env(tmp_path))
    with serve_in_thread(create_app(settings, clock=clock)) as base:
        kept = init(base, "kept")
        lost = init(base, "lost")
        clock.advance(59)
        assert read_stream(kept).done  # attached in time: generated and kept
        clock.advance(2)  # 61 s after init: the other one was never attached
        gone = httpx.get(lost)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "stream_expired"
        assert read_stream(kept).done  # an ended stream is kept for its retention
        clock.advance(601)
        assert httpx.get(kept).status_code == 404


def test_the_caller_and_the_ledger(url: str) -> None:
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    # sub names a users.yml user: that user's models (local-echo is not one of them)…
    refused = httpx.post(
        f"{url}/init-stream",
        json={"n8nToken": init_token(sub="alice"), "prompt": "p", "model": "local-echo"},
    )
    assert refused.status_code == 404
    as_alice = init(url, "p", n8nToken=init_token(sub="alice"))
    # …and without one, the stream service, recording usage against the body's userId.
    for_user = init(url, "p", model="local-echo", userId="u-42")
    for stream_url in (as_alice, for_user):
        assert read_stream(stream_url).done
    deadline = time.monotonic() + 30
    while True:
        rows = httpx.get(f"{url}/usage?all=true", headers=admin).json()["data"]
        users = {(row["user"], row["model"]) for row in rows}
        if {("alice", "local-text"), ("user:u-42", "local-echo")} <= users:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)
