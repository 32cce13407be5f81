"""Every HTTP error answers the OpenAI error object with the right status, and the server keeps serving."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ECHO_KEY, FULL_KEY, Running
from tests.openapi_schemas import assert_matches

AUTH = {"Authorization": f"Bearer {FULL_KEY}"}
CHAT = {"model": "local-echo", "messages": [{"role": "user", "content": "hi"}]}


def expect_error(
    response: httpx.Response, status: int, code: str | None, param: str | None = None
) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert_matches("ErrorResponse", body)
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


@pytest.fixture
def http(gateway: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v2/nothing-here", 404, "not_found"),
        ("POST", "/v1/unknown", 404, "not_found"),
        ("DELETE", "/v1/chat/completions", 405, "method_not_allowed"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
        ("PUT", "/health", 405, "method_not_allowed"),
    ],
)
def test_unknown_routes_and_wrong_methods(
    http: httpx.Client, method: str, path: str, status: int, code: str
) -> None:
    expect_error(http.request(method, path, headers=AUTH), status, code)


@pytest.mark.parametrize(
    ("headers", "message_part"),
    [
        ({}, "didn't provide an API key"),
        ({"Authorization": "Bearer sk-not-a-real-key-000000"}, "Incorrect API key"),
        ({"Authorization": f"Basic {FULL_KEY}"}, "didn't provide an API key"),
        ({"Authorization": "Bearer"}, "didn't provide an API key"),
    ],
)
def test_missing_or_invalid_key_is_401_on_every_route(
    http: httpx.Client, headers: dict, message_part: str
) -> None:
    for response in (
        http.post("/v1/chat/completions", json=CHAT, headers=headers),
        http.get("/v1/models", headers=headers),
        http.get("/v1/models/local-echo", headers=headers),
    ):
        error = expect_error(response, 401, "invalid_api_key")
        assert message_part in error["message"]
        assert FULL_KEY not in error["message"]


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/v1/chat/completions", content=b'{"model": "local-echo", "messages": [', headers=AUTH
    )
    expect_error(response, 400, "invalid_json")
    response = http.post("/v1/chat/completions", content=b"", headers=AUTH)
    expect_error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "local-echo"}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "local-echo", "messages": []}, "messages"),
        (
            {"model": "local-echo", "messages": [{"role": "wizard", "content": "x"}]},
            "messages.0.role",
        ),
        ({**CHAT, "temperature": 7}, "temperature"),
        ({**CHAT, "max_tokens": 0}, "max_tokens"),
        ({**CHAT, "n": "two"}, "n"),
        ({**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        (
            {**CHAT, "tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools.0.function.name",
        ),
        ([1, 2, 3], None),
    ],
)
def test_schema_violations_are_400_naming_the_param(
    http: httpx.Client, body: object, param: str | None
) -> None:
    error = expect_error(
        http.post("/v1/chat/completions", json=body, headers=AUTH), 400, "invalid_value"
    )
    if param is not None:
        assert error["param"] == param


def test_forbidden_and_unknown_models(http: httpx.Client) -> None:
    echo_only = {"Authorization": f"Bearer {ECHO_KEY}"}
    forbidden = http.post(
        "/v1/chat/completions", json={**CHAT, "model": "local-text"}, headers=echo_only
    )
    expect_error(forbidden, 404, "model_not_found", "model")
    unknown = http.post("/v1/chat/completions", json={**CHAT, "model": "gpt-17"}, headers=echo_only)
    expect_error(unknown, 404, "model_not_found", "model")
    # A restricted key cannot tell a served-but-forbidden id from an unknown one.
    assert forbidden.json() == {
        "error": {**unknown.json()["error"], "message": "The model 'local-text' does not exist"}
    }
    assert unknown.json()["error"]["message"] == "The model 'gpt-17' does not exist"
    streaming = http.post(
        "/v1/chat/completions", json={**CHAT, "model": "gpt-17", "stream": True}, headers=AUTH
    )
    expect_error(streaming, 404, "model_not_found", "model")
    # Retrieving a model the key may not use looks the same as one that does not exist.
    expect_error(http.get("/v1/models/local-text", headers=echo_only), 404, "model_not_found")
    expect_error(http.get("/v1/models/nope", headers=AUTH), 404, "model_not_found")


def test_oversized_body_with_content_length_is_413(http: httpx.Client) -> None:
    huge = {**CHAT, "messages": [{"role": "user", "content": "x" * 100_000}]}
    expect_error(
        http.post("/v1/chat/completions", json=huge, headers=AUTH), 413, "payload_too_large"
    )


def test_oversized_chunked_body_is_refused_before_it_is_read_whole(http: httpx.Client) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"model": "local-echo", "messages": [{"role": "user", "content": "'
        for _ in range(200):  # 200 x 4 KiB = 800 KiB, far over the 64 KiB limit
            sent += 4096
            yield b"x" * 4096
        yield b'"}]}'

    response = http.post("/v1/chat/completions", content=body(), headers=AUTH)
    expect_error(response, 413, "payload_too_large")


def test_raw_socket_413_arrives_while_the_client_is_still_sending(gateway: Running) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {FULL_KEY}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 500000000\r\n\r\n"
            + b"{"
            + b" " * 1000
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_bad_content_length_is_400(gateway: Running) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {FULL_KEY}\r\n".encode()
            + b"Content-Length: abc\r\n\r\n{}"
        )
        reply = sock.recv(4096)
    assert reply.split(b" ")[1] == b"400"


def test_server_keeps_serving_after_errors(http: httpx.Client) -> None:
    for _ in range(3):
        http.post("/v1/chat/completions", content=b"{nope", headers=AUTH)
        http.get("/nowhere")
    ok = http.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    assert ok.status_code == 200
    assert ok.json()["choices"][0]["message"]["content"] == "hi"


def test_health_docs_and_openapi(http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    docs = http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = http.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/models/{model_id}", "/health"} <= set(
        spec["paths"]
    )
    request_body = spec["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    assert request_body["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChatCompletionRequest"
    )
    assert "messages" in spec["components"]["schemas"]["ChatCompletionRequest"]["properties"]
