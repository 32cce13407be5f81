"""Issue 9, item 12: the smaller holes a probe found, each from its reproduction."""

from __future__ import annotations

import logging
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.fake_upstream import fake_openai
from continuum.testing.server import serve_in_thread
from tests.conftest import FULL_KEY, Running

AUTH = {"Authorization": f"Bearer {FULL_KEY}"}


def test_a_client_leaving_mid_upload_is_a_debug_line_not_an_error(
    gateway: Running, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    with caplog.at_level(logging.DEBUG, logger="continuum.http"):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                + f"authorization: Bearer {FULL_KEY}\r\n".encode()
                + b'content-type: application/json\r\ncontent-length: 5000\r\n\r\n{"model": '
            )
            time.sleep(0.05)  # let the server start reading the body; then leave
        deadline = time.monotonic() + 10
        while not any("left during the upload" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the server never noticed the client leaving"
            time.sleep(0.01)
    noted = [r for r in caplog.records if "left during the upload" in r.getMessage()]
    assert noted[0].levelno == logging.DEBUG
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/admin/keys/key_123", "DELETE, GET, PATCH"),
        ("DELETE", "/admin/keys", "GET, POST"),
        ("GET", "/v1/chat/completions", "POST"),
        ("PUT", "/health", "GET"),
    ],
)
def test_a_405_allows_every_method_of_the_path(
    gateway: Running, method: str, path: str, allowed: str
) -> None:
    response = httpx.request(method, f"{gateway.url}{path}", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_lists_each_routes_error_statuses_and_bodies(gateway: Running) -> None:
    spec = httpx.get(f"{gateway.url}/openapi.json").json()
    paths = spec["paths"]
    chat = paths["/v1/chat/completions"]["post"]
    assert {"400", "401", "404", "408", "413", "429", "502", "503", "504"} <= set(chat["responses"])
    assert set(paths["/usage"]["get"]["responses"]) == {"200", "400", "401", "403", "503"}
    assert "201" in paths["/admin/keys"]["post"]["responses"]
    assert "408" in paths["/admin/keys"]["post"]["responses"]
    for operations in paths.values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):  # every error has its body's schema
                    assert response["content"]["application/json"]["schema"]["$ref"]
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    body = paths["/validate-user"]["post"]["requestBody"]["content"]["application/json"]
    assert schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]["required"] == ["user_id"]


def test_the_fake_openai_upstream_takes_a_null_text_part() -> None:
    fake = fake_openai()
    with fake.run_in_thread() as upstream:
        body = {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": None}]},
                {"role": "user", "content": [{"type": "text", "text": "hello"}]},
            ],
        }
        response = httpx.post(f"{upstream}/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]


@pytest.fixture
def fresh(tmp_path: Path, users_config: Path) -> Iterator[Path]:
    data = tmp_path / "new-data"
    settings = Settings.from_env({}, config_dir=users_config, data_dir=data)
    with serve_in_thread(create_app(settings)) as url:
        reply = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "local-echo", "messages": [{"role": "user", "content": "x"}]},
            headers=AUTH,
        )
        assert reply.status_code == 200
        httpx.get(f"{url}/usage", headers=AUTH)  # the ledger writes: WAL files exist
        yield data


def test_data_files_are_private(fresh: Path) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(fresh) == 0o700
    assert mode(fresh / "journal") == 0o700
    made = [p for p in fresh.iterdir() if p.is_file()]
    assert {p.name for p in made} >= {"continuum.db", "continuum.db-wal"}
    assert {p.name: mode(p) for p in made} == {p.name: 0o600 for p in made}
