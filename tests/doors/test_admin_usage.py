"""Keys through the admin API, usage through /usage, /validate-user: a real gateway, both stores."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import select

from continuum.app import create_app, open_database
from continuum.settings import Settings
from continuum.store.database import MIGRATIONS
from continuum.store.tables import usage
from continuum.testing.clock import ManualClock
from continuum.testing.server import serve_in_thread

ADMIN_KEY = "sk-admin-key-for-tests-000000001"
HELLO = [{"role": "user", "content": "count these words"}]


def normalize(user_id: str) -> bool | str:
    """A validator for the tests: ``user_*`` valid, ``admin_*`` valid as ``user_*``."""
    if user_id.startswith("user_"):
        return True
    if user_id.startswith("admin_"):
        return "user_" + user_id.removeprefix("admin_")
    return False


@dataclass
class Cluster:
    urls: list[str]
    settings: Settings
    clock: ManualClock

    @property
    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.urls[0], headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    def client(self, key: str, replica: int = 0) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.urls[replica]}/v1", api_key=key, max_retries=0)


@pytest.fixture
def cluster(database_settings: dict[str, object], tmp_path: Path) -> Iterator[Cluster]:
    """Two gateways on one database (SQLite file or PostgreSQL schema), like two replicas."""
    settings = Settings.from_env(
        {"CONTINUUM_ADMIN_KEY": ADMIN_KEY, "CONTINUUM_USER_VALIDATOR": f"{__name__}:normalize"},
        config_dir=tmp_path,
        **database_settings,
    )
    clock = ManualClock()  # both replicas' key caches and key expiry
    with ExitStack() as stack:
        apps = [create_app(settings, clock=clock) for _ in range(2)]
        urls = [stack.enter_context(serve_in_thread(app)) for app in apps]
        yield Cluster(urls, settings, clock)


def create(cluster: Cluster, **body: object) -> dict:
    with cluster.admin as admin:
        response = admin.post("/admin/keys", json={"name": "app", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_key_made_through_the_admin_api_works_with_its_permissions_and_limits(
    cluster: Cluster,
) -> None:
    made = create(cluster, owner="team-a", permissions=["local-echo"], rate_limit="2/minute")
    assert made["key"].startswith("ck-") and made["owner"] == "team-a"
    client = cluster.client(made["key"])
    assert [m.id for m in client.models.list()] == ["local-echo"]
    raw = client.chat.completions.with_raw_response.create(model="local-echo", messages=HELLO)  # type: ignore[arg-type]
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    with pytest.raises(openai.NotFoundError):  # not permitted looks like not there
        client.chat.completions.create(model="local-text", messages=HELLO)  # type: ignore[arg-type]
    client.chat.completions.create(model="local-echo", messages=HELLO)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="local-echo", messages=HELLO)  # type: ignore[arg-type]
    with cluster.admin as admin:
        listed = admin.get("/admin/keys").json()["data"]
        assert [k["id"] for k in listed] == [made["id"]] and "key" not in listed[0]
        assert admin.get(f"/admin/keys/{made['id']}").json()["rate_limit"] == ["2/minute"]
        patched = admin.patch(
            f"/admin/keys/{made['id']}", json={"permissions": "*", "rate_limit": []}
        )
        assert patched.json()["permissions"] is None
    cluster.clock.advance(0.6)  # past the key cache
    assert client.chat.completions.create(model="local-text", messages=HELLO).choices  # type: ignore[arg-type]


def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_a_second(
    cluster: Cluster,
) -> None:
    made = create(cluster)
    other = cluster.client(made["key"], replica=1)
    assert other.chat.completions.create(model="local-echo", messages=HELLO).choices  # type: ignore[arg-type]
    with cluster.admin as admin:
        assert admin.delete(f"/admin/keys/{made['id']}").json()["revoked_at"] is not None
    waited = 0.0
    while True:
        try:
            other.models.list()
        except openai.AuthenticationError as error:
            assert error.code == "key_revoked"
            break
        assert waited < 1.0
        cluster.clock.advance(0.05)
        waited += 0.05


def test_expired_keys_are_refused(cluster: Cluster) -> None:
    made = create(cluster, ttl_seconds=0.3)
    client = cluster.client(made["key"])
    assert client.models.list()
    # The expiry is real time at creation + 0.3 s, the manual clock started with the
    # fixture: move well past both, however slowly a loaded machine got here.
    cluster.clock.advance(60)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer sk-nope-0000000000000000"}, 401)],
)
def test_admin_api_needs_the_admin_key(cluster: Cluster, headers: dict, status: int) -> None:
    response = httpx.get(f"{cluster.urls[0]}/admin/keys", headers=headers)
    assert response.status_code == status and response.json()["error"]["code"] == "invalid_api_key"


def test_the_admin_key_is_a_key_of_the_chain_that_may_use_no_model(cluster: Cluster) -> None:
    with cluster.admin as admin:
        assert admin.get("/v1/models").json()["data"] == []
        chat = admin.post("/v1/chat/completions", json={"model": "local-echo", "messages": HELLO})
        assert chat.status_code == 404 and chat.json()["error"]["code"] == "model_not_found"
        assert admin.get("/rate-limit/stats").status_code == 200


def test_admin_api_refuses_non_admins_and_bad_bodies(cluster: Cluster) -> None:
    made = create(cluster)
    response = httpx.get(
        f"{cluster.urls[0]}/admin/keys", headers={"Authorization": f"Bearer {made['key']}"}
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_admin"
    with cluster.admin as admin:
        bad = admin.post("/admin/keys", json={"name": "x", "rate_limit": "99999999999999/day"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "rate_limit"
        assert admin.post("/admin/keys", content=b"{nope").status_code == 400
        assert admin.post("/admin/keys", json={"owner": "no name"}).status_code == 400
        assert admin.get("/admin/keys/key_nothing").status_code == 404
        assert admin.patch("/admin/keys/key_nothing", json={"name": "y"}).status_code == 404
        assert admin.delete("/admin/keys/key_nothing").status_code == 404
    admin_user = create(cluster, name="ops", admin=True)
    as_admin = httpx.get(
        f"{cluster.urls[0]}/admin/keys", headers={"Authorization": f"Bearer {admin_user['key']}"}
    )
    assert as_admin.status_code == 200


def test_every_chat_is_one_ledger_record_and_usage_totals_it(cluster: Cluster) -> None:
    made = create(cluster, owner="counted")
    client = cluster.client(made["key"])
    replies = [client.chat.completions.create(model="local-echo", messages=HELLO) for _ in range(3)]  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model="local-text",
        messages=HELLO,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )
    streamed = [chunk.usage for chunk in stream if chunk.usage][-1]
    report = httpx.get(
        f"{cluster.urls[0]}/usage", headers={"Authorization": f"Bearer {made['key']}"}
    ).json()
    by_model = {row["model"]: row for row in report["data"]}
    echo = by_model["local-echo"]
    assert echo["requests"] == 3
    assert echo["completion_tokens"] == sum(r.usage.completion_tokens for r in replies if r.usage)
    assert by_model["local-text"]["total_tokens"] == streamed.total_tokens
    assert report["totals"]["requests"] == 4 and report["user"] == "counted"
    rows = _rows(cluster.settings, "counted")
    assert len(rows) == 4
    first = rows[0]
    assert (first.key_id, first.model, first.status, first.error_code) == (
        made["id"],
        "local-echo",
        200,
        None,
    )
    assert first.deployment == "local/echo" and first.latency_ms > 0 and first.ttft_ms is not None
    assert first.prompt_tokens == replies[0].usage.prompt_tokens  # type: ignore[union-attr]
    other = httpx.get(
        f"{cluster.urls[0]}/usage?user=someone", headers={"Authorization": f"Bearer {made['key']}"}
    )
    assert other.status_code == 403
    with cluster.admin as admin:
        everyone = admin.get("/usage", params={"all": "true"}).json()
        assert "counted" in {row["user"] for row in everyone["data"]}
        assert everyone["user"] is None


def test_refused_requests_are_recorded_with_their_status(cluster: Cluster) -> None:
    made = create(cluster, owner="limited", rate_limit="1/minute")
    client = cluster.client(made["key"])
    client.chat.completions.create(model="local-echo", messages=HELLO)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="local-echo", messages=HELLO)  # type: ignore[arg-type]
    httpx.get(
        f"{cluster.urls[0]}/usage", headers={"Authorization": f"Bearer {made['key']}"}
    )  # flushes
    assert sorted(row.status for row in _rows(cluster.settings, "limited")) == [200, 429]


def _rows(settings: Settings, user: str) -> list:
    """The ledger's rows for ``user``, read straight from the database."""

    async def fetch() -> list:
        database = open_database(settings)
        try:
            async with database.engine.connect() as conn:
                query = select(usage).where(usage.c.user_id == user).order_by(usage.c.id)
                return list((await conn.execute(query)).all())
        finally:
            await database.close()

    return asyncio.run(fetch())


def test_validate_user_uses_the_configured_validator(cluster: Cluster) -> None:
    def check(user_id: object) -> httpx.Response:
        return httpx.post(f"{cluster.urls[0]}/validate-user", json={"user_id": user_id})

    assert check("user_123").json() == {"valid": True, "user_id": "user_123", "normalized": None}
    assert check("admin_7").json() == {"valid": True, "user_id": "admin_7", "normalized": "user_7"}
    assert check("guest").json() == {"valid": False, "user_id": "guest", "normalized": None}
    missing = check("")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "user_id"
    assert httpx.post(f"{cluster.urls[0]}/validate-user", content=b"{").status_code == 400


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["CONTINUUM_DATA_DIR"] = str(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "continuum", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert f"schema at version {len(MIGRATIONS)}" in cli("db", "upgrade").stdout
    made = cli(
        "keys", "create", "--name", "cli-key", "--models", "local-echo", "--rate-limit", "3/minute"
    )
    key_id = made.stdout.split("id: ")[1].split()[0]
    key = made.stdout.split("key: ")[1].split()[0]
    assert key.startswith("ck-")
    listed = cli("keys", "list").stdout
    assert key_id in listed and "active" in listed and key not in listed
    settings = Settings.from_env(
        {}, data_dir=tmp_path, config_dir=tmp_path, admin_key="sk-unused-admin-key-000001"
    )
    clock = ManualClock()
    with serve_in_thread(create_app(settings, clock=clock)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
        assert client.chat.completions.create(model="local-echo", messages=HELLO).choices  # type: ignore[arg-type]
        assert "revoked" in cli("keys", "revoke", key_id).stdout
        clock.advance(0.6)  # past the key cache
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    assert cli("keys", "revoke", "key_unknown").returncode == 1
    bad = cli("keys", "create", "--name", "x", "--rate-limit", "fast")
    assert bad.returncode == 2 and "not a rate limit" in bad.stderr
