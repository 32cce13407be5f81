"""Property: a reader that leaves at any point, and comes back through any replica with
its Last-Event-ID while the generation is still running, ends with exactly the text a
plain chat completion gives: no gap, no duplicate, byte for byte.

On Redis two gateways (separate apps, event loops and connections) share one Redis;
on memory the one gateway is every "replica".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis import Redis

from tests.streams.conftest import init, plain_text, read_stream, serving, stream_env

EXAMPLES = 100


@dataclass
class Replicas:
    urls: list[str]
    hops_while_running: int = 0


@pytest.fixture(scope="module", params=["memory", "redis"])
def replicas(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("replicas")
    if request.param == "memory":
        with serving(stream_env(root)) as url:
            yield Replicas([url])
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    env = stream_env(root, CONTINUUM_REDIS_URL=redis_url, CONTINUUM_REDIS_PREFIX=prefix)
    with (
        serving({**env, "CONTINUUM_DATA_DIR": str(root / "a")}) as a,
        serving({**env, "CONTINUUM_DATA_DIR": str(root / "b")}) as b,
    ):
        yield Replicas([a, b])
    client = Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


hops = st.lists(st.tuples(st.integers(0, 1), st.integers(1, 40)), min_size=1, max_size=3)


def test_leaving_and_resuming_through_any_replica_is_byte_exact(replicas: Replicas) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(seed=st.integers(0, 10**6), start=st.integers(0, 1), plan=hops, end=st.integers(0, 1))
    def trial(seed: int, start: int, plan: list[tuple[int, int]], end: int) -> None:
        urls = replicas.urls
        prompt = f"tell me something, take {seed}"
        stream_url = init(urls[start % len(urls)], prompt, model="local-brisk")
        text, last = "", None
        for replica, events in plan:
            read = read_stream(
                stream_url, last_event_id=last, stop_after=events, base=urls[replica % len(urls)]
            )
            if read.status == 204:  # the previous hop ended on [DONE] exactly
                break
            assert read.status == 200
            assert all(e.event == "message" for e in read.events)
            text += read.text
            last = read.last_id or last
            if read.done:
                break
            replicas.hops_while_running += 1
        else:
            rest = read_stream(stream_url, last_event_id=last, base=urls[end % len(urls)])
            if rest.status != 204:
                assert rest.status == 200 and rest.done
                text += rest.text
        assert text == plain_text(urls[0], prompt)

    trial()
    # Many hops must leave before the end, or the examples would test little. The count
    # depends on the drawn plans (1-3 hops of 1-40 events against answers of varying
    # length), not on timing: one full-suite run drew 97, under the EXAMPLES it was once
    # held to, so the floor is half of that.
    assert replicas.hops_while_running >= EXAMPLES // 2


def test_every_replica_sees_one_generation(replicas: Replicas, tmp_path: Path) -> None:
    """Attaching through every replica at once starts the generation once: each reader
    gets the same events, ids included."""
    stream_url = init(replicas.urls[0], "one generation only", model="local-brisk")
    reads = [read_stream(stream_url, base=url) for url in replicas.urls * 2]
    assert all(r.done for r in reads)
    assert len({tuple((e.id, e.data) for e in r.events) for r in reads}) == 1
