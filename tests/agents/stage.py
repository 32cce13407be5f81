"""A gateway with agents on a real socket, its ledger, and the fake upstreams behind it.

with staged(tmp_path, AGENTS_YML, fakes) as stage:
    client = stage.client(FULL_KEY)
    ...
    stage.ledger()          # every usage record, flushed first
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai

from continuum.app import build_gateway, create_app
from continuum.gateway import Gateway
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread

FULL_KEY = "sk-agents-full-0123456789"
ADMIN_KEY = "sk-agents-admin-0123456789"
AGENT_ONLY_KEY = "sk-agents-agent-only-0123456789"
AGENT_AND_MODEL_KEY = "sk-agents-agent-model-0123456789"
MODEL_ONLY_KEY = "sk-agents-model-only-0123456789"
LIMITED_KEY = "sk-agents-limited-0123456789"

USERS_YML = f"""
users:
  - {{token: "{FULL_KEY}", name: "full", permissions: "*"}}
  - {{token: "{ADMIN_KEY}", name: "admin", permissions: "*", admin: true}}
  - {{token: "{AGENT_ONLY_KEY}", name: "agent-only", permissions: ["agent/math"]}}
  - {{token: "{AGENT_AND_MODEL_KEY}", name: "agent-and-model",
     permissions: ["agent/math", "local-text"]}}
  - {{token: "{MODEL_ONLY_KEY}", name: "model-only", permissions: ["local-text"]}}
  - {{token: "{LIMITED_KEY}", name: "limited", permissions: "*", rate_limit: "3/minute"}}
"""


def models_yml(fakes: Mapping[str, str], extra: str = "") -> str:
    """``local-text``, plus ``gpt-fake`` / ``claude-fake`` for the fakes given by flavour,
    plus ``extra`` entries (YAML list items)."""
    lines = ["models:", '  - {id: "local-text", provider: "local", upstream_model: "text"}']
    if "openai" in fakes:
        lines.append(
            '  - {id: "gpt-fake", provider: "openai", upstream_model: "fake-model", '
            f'base_url: "{fakes["openai"]}/v1", api_key: "sk-upstream"}}'
        )
    if "anthropic" in fakes:
        lines.append(
            '  - {id: "claude-fake", provider: "anthropic", upstream_model: "fake-model", '
            f'base_url: "{fakes["anthropic"]}", api_key: "sk-upstream"}}'
        )
    return "\n".join(lines) + "\n" + extra


@dataclass(frozen=True)
class Stage:
    url: str
    gateway: Gateway
    data_dir: Path

    def client(self, key: str = FULL_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0)

    def async_client(self, key: str = FULL_KEY) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0)

    def ledger(self) -> list[dict[str, Any]]:
        """Every usage record so far, oldest first (GET /usage flushes the ledger)."""
        answer = httpx.get(
            f"{self.url}/usage",
            params={"all": "true"},
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert answer.status_code == 200, answer.text
        with sqlite3.connect(self.data_dir / "continuum.db") as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM continuum_usage ORDER BY id").fetchall()
        return [dict(row) for row in rows]

    def records_of(self, request_id: str) -> list[dict[str, Any]]:
        """The records of the model calls an agent run made for request ``request_id``."""
        return [r for r in self.ledger() if r["request_id"].startswith(f"{request_id}-")]


def write_config(folder: Path, agents_yml: str, fakes: Mapping[str, str], models: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.yml").write_text(USERS_YML)
    (folder / "models.yml").write_text(models_yml(fakes, models))
    (folder / "agents.yml").write_text(agents_yml)
    return folder


@contextmanager
def staged(
    root: Path,
    agents_yml: str,
    fakes: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    models: str = "",
) -> Iterator[Stage]:
    """A gateway serving ``agents_yml`` over ``local-text``, the given fakes and ``models``."""
    config = write_config(root / "config", agents_yml, fakes or {}, models)
    data_dir = root / "data"
    settings = Settings.from_env(dict(env or {}), config_dir=config, data_dir=data_dir)
    gateway = build_gateway(settings)
    with serve_in_thread(create_app(gateway=gateway)) as url:
        yield Stage(url, gateway, data_dir)
