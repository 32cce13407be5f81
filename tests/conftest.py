"""Shared fixtures: a real gateway on a real socket, configured with a few users."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread

FULL_KEY = "sk-test-full-access-0123456789"
ECHO_KEY = "sk-test-echo-only-0123456789"
NONE_KEY = "sk-test-no-models-0123456789"

USERS_YML = f"""
users:
  - token: "{FULL_KEY}"
    name: "full"
    permissions: "*"
    rate_limit: "1000/minute"
  - token: "{ECHO_KEY}"
    name: "echo-only"
    permissions: ["local-echo"]
  - token: "{NONE_KEY}"
    name: "nobody"
    permissions: []
"""


@dataclass(frozen=True)
class Running:
    url: str
    config_dir: Path
    data_dir: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"


@pytest.fixture(scope="session")
def users_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config_dir = tmp_path_factory.mktemp("config")
    (config_dir / "users.yml").write_text(USERS_YML)
    return config_dir


@pytest.fixture(scope="session")
def gateway(users_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A gateway with only users.yml in its config dir: it serves the local models."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = Settings.from_env(
        {}, config_dir=users_config, data_dir=data_dir, max_body_bytes=64 * 1024
    )
    with serve_in_thread(create_app(settings)) as url:
        yield Running(url, users_config, data_dir)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from tests.services import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_settings(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[dict[str, object]]:
    """Settings overrides that put the ledger and keys on SQLite or on PostgreSQL.

    PostgreSQL tests get a schema of their own, dropped afterwards.
    """
    if request.param == "sqlite":
        yield {"data_dir": tmp_path / "data"}
        return
    import asyncio
    import uuid

    import asyncpg

    from tests.services import postgres_url

    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield {"data_dir": tmp_path / "data", "database_url": url, "database_schema": schema}

    async def drop() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Playwright ``Browser``); see tests/browser.py.

    Module-scoped: Playwright's sync API runs an event loop in this thread while it is
    open, so a module that uses it must hold only sync tests, and it is closed before
    the next module's async tests run.
    """
    from tests.browser import chromium

    with chromium() as launched:
        yield launched
