"""Streams across ``continuum serve`` processes: a generating replica that dies leaves
its readers a terminal error (not a hang), and the access token never reaches a log."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from redis import Redis

from continuum.testing.process import gateway_process
from tests.streams.conftest import init, read_stream, stream_env


@contextmanager
def served(
    env: dict[str, str], *args: str, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with gateway_process(*args, env=env, timeout=30, log=log) as gateway:
        yield gateway.url, gateway.process


def test_readers_get_an_error_when_the_generating_replica_dies(
    tmp_path: Path, redis_url: str
) -> None:
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    env = stream_env(tmp_path, CONTINUUM_REDIS_URL=redis_url, CONTINUUM_REDIS_PREFIX=prefix)
    try:
        with (
            served({**env, "CONTINUUM_DATA_DIR": str(tmp_path / "a")}) as (a, doomed),
            served({**env, "CONTINUUM_DATA_DIR": str(tmp_path / "b")}) as (b, _),
        ):
            stream_url = init(a, "a long, slow answer", model="local-crawl")
            begun = read_stream(stream_url, stop_after=2)  # attached on A: A generates
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
            rest = read_stream(stream_url, last_event_id=begun.last_id, base=b)
            assert rest.status == 200
            assert rest.events[-1].event == "error"
            assert "producer_lost" in rest.events[-1].data
            # A reconnect after the error learns the stream is over (204), not a hang.
            again = read_stream(stream_url, last_event_id=rest.last_id, base=b)
            assert again.status == 204
    finally:
        client = Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_the_access_token_never_reaches_the_access_log(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with served(stream_env(tmp_path), "--access-log", log=log) as (url, _):
        stream_url = init(url, "log me")
        token = stream_url.split("access_token=")[1]
        assert read_stream(stream_url).done
        assert httpx.get(stream_url.replace(token, token[:-4] + "abcd")).status_code == 401
    text = log.read_text()
    stream_path = stream_url.split(url)[1].split("?")[0]
    assert f"GET {stream_path}" in text  # the access log did record the request…
    assert token not in text and token[:-4] not in text  # …without the token
