"""User and key names: refused where unsafe, and "every user's usage" names nobody.

Issue 9: a user or key owner named ``*`` read everyone's usage through
``GET /usage?user=*``; a ``users.yml`` name of 300 characters stopped the PostgreSQL
ledger (its column holds 256).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from continuum.app import create_app
from continuum.config.users import load_users
from continuum.errors import ConfigError
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread

ADMIN_KEY = "sk-names-admin-key-000000001"
ALICE = "sk-names-alice-000000000001"
STAR = "sk-names-star-0000000000001"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("*", "'*'"),
        ("team*", "'*'"),
        ("x" * 300, "300 characters"),
        ("ip:10.0.0.1", "anonymous"),
        ("user:bob", "anonymous"),
        (" padded", "spaces"),
        ("tab\there", "control"),
    ],
)
def test_users_yml_refuses_unsafe_names_naming_the_key(
    tmp_path: Path, name: str, problem: str
) -> None:
    path = tmp_path / "users.yml"
    path.write_text(
        "users:\n"
        f'  - {{token: "{ALICE}", name: alice, permissions: "*"}}\n'
        f"  - {{token: {STAR!r}, name: {json.dumps(name)}, permissions: '*'}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_users(path)
    assert caught.value.key == "users[1].name"
    assert problem in str(caught.value) and "Fix:" in str(caught.value)


def test_a_256_character_name_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "users.yml"
    path.write_text(f'users:\n  - {{token: "{ALICE}", name: "{"n" * 256}", permissions: "*"}}\n')
    assert load_users(path)[0].name == "n" * 256


@dataclass
class Served:
    url: str

    def get(self, path: str, key: str, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}{path}", params=params, headers={"authorization": f"Bearer {key}"}
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    config = tmp_path_factory.mktemp("names")
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{ALICE}", name: alice, permissions: "*"}}\n'
    )
    settings = Settings.from_env(
        {"CONTINUUM_ADMIN_KEY": ADMIN_KEY}, config_dir=config, data_dir=config / "data"
    )
    with serve_in_thread(create_app(settings)) as url:
        chat = {"model": "local-echo", "messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(
            f"{url}/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {ALICE}"}
        )
        assert reply.status_code == 200
        yield Served(url)


@pytest.mark.parametrize("field", ["owner", "name"])
@pytest.mark.parametrize("name", ["*", "x" * 257, "ip:1.2.3.4"])
def test_the_admin_api_refuses_unsafe_owners_and_names(
    served: Served, field: str, name: str
) -> None:
    body = {"name": "ok", field: name}
    response = httpx.post(
        f"{served.url}/admin/keys", json=body, headers={"authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == field


def test_usage_of_star_is_not_everyone(served: Served) -> None:
    refused = served.get("/usage", ADMIN_KEY, user="*")
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "user"
    assert served.get("/usage", ALICE, user="*").status_code == 400


def test_everyone_is_an_admin_only_query_that_names_nobody(served: Served) -> None:
    everyone = served.get("/usage", ADMIN_KEY, all="true")
    assert everyone.status_code == 200
    body = everyone.json()
    assert body["user"] is None and {row["user"] for row in body["data"]} == {"alice"}
    refused = served.get("/usage", ALICE, all="true")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_admin"
    mine = served.get("/usage", ALICE).json()
    assert mine["user"] == "alice" and mine["totals"]["requests"] == 1
    both = served.get("/usage", ADMIN_KEY, all="true", user="alice")
    assert both.status_code == 400


def test_the_cli_refuses_an_unsafe_owner(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["CONTINUUM_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "continuum", "keys", "create", "--name", "ci", "--owner", "*"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "'*'" in done.stderr and "key:" not in done.stdout


@pytest.mark.parametrize("field", ["name", "rate_limit"])
def test_a_key_keeps_its_name_and_limits_when_asked_to_null_them(
    served: Served, field: str
) -> None:
    """Found by bench/fuzz.py: PATCH {"name": null} stored NULL and answered 503."""
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    made = httpx.post(f"{served.url}/admin/keys", json={"name": "keep"}, headers=admin).json()
    url = f"{served.url}/admin/keys/{made['id']}"
    refused = httpx.patch(url, json={field: None}, headers=admin)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == field
    cleared = httpx.patch(url, json={"permissions": None, "expires_at": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["name"] == "keep"
    assert httpx.get(f"{served.url}/admin/keys", headers=admin).status_code == 200
