"""``/openapi.json`` documents every route with its real schemas, and ``/docs`` is served offline.

The document must be valid OpenAPI 3.1; every route of the app must be in it, with its
request body where it reads one and the error statuses it answers; and real answers of
the routes must validate against the schemas the document gives for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from continuum.app import create_app
from continuum.dialects.openai.schemas import official_schemas
from continuum.settings import Settings
from tests.conftest import FULL_KEY, Running

AUTH = {"authorization": f"Bearer {FULL_KEY}"}
# The routes that read a body, and the schema it is documented with ("media type:name"
# for another media type than JSON, e.g. "multipart/form-data:UploadForm").
BODIES = {
    ("post", "/v1/chat/completions"): "ChatCompletionRequest",
    ("post", "/v1/responses"): "CreateResponseRequest",
    ("post", "/v1/completions"): "CompletionRequest",
    ("post", "/v1/embeddings"): "CreateEmbeddingBody",
    ("post", "/v1/files"): "multipart/form-data:CreateFileRequest",
    ("post", "/admin/keys"): "KeyCreate",
    ("patch", "/admin/keys/{key_id}"): "KeyUpdate",
    ("post", "/validate-user"): "ValidateUser",
    ("post", "/agent/message/stream"): "RuntimeMessage",
    ("post", "/v1/messages"): "MessagesRequest",
    ("post", "/v1/messages/count_tokens"): "CountTokensRequest",
    ("post", "/model"): "PromptRequest",
    ("post", "/model/stream"): "PromptRequest",
    ("post", "/agent/{name}"): "PromptRequest",
    ("post", "/agent/{name}/stream"): "PromptRequest",
    ("post", "/init-stream"): "InitStreamRequest",
}


@pytest.fixture(scope="module")
def document(gateway: Running) -> dict[str, Any]:
    response = httpx.get(f"{gateway.url}/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def http(gateway: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=AUTH) as client:
        yield client


def answer_schema(document: dict[str, Any], method: str, path: str, status: int) -> Any:
    content = document["paths"][path][method]["responses"][str(status)]["content"]
    return content["application/json"]["schema"]


def assert_documented(
    document: dict[str, Any], method: str, path: str, response: httpx.Response
) -> None:
    """``response`` validates against the schema the document gives for it."""
    schema = answer_schema(document, method, path, response.status_code)
    validator = Draft202012Validator({**schema, "components": document["components"]})
    problems = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())
    ]
    assert not problems, f"{method.upper()} {path} {response.status_code}: {problems}"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation, unresolvable $refs included


def test_every_route_is_documented_with_its_body_and_errors(
    document: dict[str, Any], tmp_path: Any
) -> None:
    app = create_app(Settings.from_env({}, data_dir=tmp_path))
    routes = {
        (method.lower(), context.route.path.replace(":path", ""))
        for context in iter_route_contexts(app.routes)
        if isinstance(context.route, APIRoute) and context.route.include_in_schema
        for method in context.route.methods
    }
    assert ("post", "/v1/responses") in routes and ("get", "/v1/responses/{response_id}") in routes
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    assert routes == documented
    schemas = document["components"]["schemas"]
    for (method, path), op in ((k, document["paths"][k[1]][k[0]]) for k in sorted(routes)):
        statuses = set(op["responses"])
        assert "422" not in statuses, f"{method} {path} documents a 422"
        ok = min(s for s in statuses if s.startswith("2"))
        content = op["responses"][ok]["content"]
        assert all(c["schema"] for c in content.values()), f"{method} {path}: no answer schema"
        # Another success without a body (GET /stream/{id}'s 204) has no error object.
        for status in {s for s in statuses - {ok} if not s.startswith("2")}:
            # Every error is a documented error object (OpenAI's, or a door's own shape).
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            properties = schemas[ref.rsplit("/", 1)[-1]]["properties"]
            # {"error": ...} (OpenAI, seed 001, Anthropic) or {"type": "error", ...} (seed 003)
            assert "error" in properties or properties["type"].get("const") == "error", path
        if (method, path) in BODIES:
            media, _, name = BODIES[(method, path)].rpartition(":")
            body = op["requestBody"]["content"][media or "application/json"]["schema"]
            assert body == {"$ref": f"#/components/schemas/{name}"}
            assert schemas[name]["properties"], name
            assert {"400", "413"} <= statuses
        else:
            assert "requestBody" not in op, f"{method} {path}"
        if path not in ("/health", "/validate-user"):
            assert "401" in statuses, f"{method} {path} does not document 401"
    responses_create = document["paths"]["/v1/responses"]["post"]["responses"]["200"]["content"]
    events = responses_create["text/event-stream"]["schema"]["oneOf"]
    official_union = {ref["$ref"] for ref in official_schemas()["ResponseStreamEvent"]["anyOf"]}
    assert {e["$ref"] for e in events} <= official_union and len(events) == 14
    assert {"Response", "ResponseItemList", "CreateCompletionResponse"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    assert ("post", "/init-stream") in documented and ("get", "/stream/{stream_id}") in documented


def test_real_answers_match_their_documented_schemas(
    document: dict[str, Any], http: httpx.Client
) -> None:
    checks = [
        ("get", "/health", http.get("/health")),
        ("get", "/v1/models", http.get("/v1/models")),
        ("get", "/v1/models/{model_id}", http.get("/v1/models/local-echo")),
        ("get", "/rate-limit/stats", http.get("/rate-limit/stats")),
        ("get", "/rate-limit/stats/{user_id}", http.get("/rate-limit/stats/full")),
        ("get", "/usage", http.get("/usage")),
        ("post", "/validate-user", http.post("/validate-user", json={"user_id": "ada"})),
        (
            "post",
            "/v1/chat/completions",
            http.post(
                "/v1/chat/completions",
                json={"model": "local-echo", "messages": [{"role": "user", "content": "hi"}]},
            ),
        ),
        (
            "post",
            "/v1/completions",
            http.post("/v1/completions", json={"model": "local-echo", "prompt": "hi"}),
        ),
    ]
    made = http.post("/v1/responses", json={"model": "local-echo", "input": "hi"})
    response_id = made.json()["id"]
    checks += [
        ("post", "/v1/responses", made),
        ("get", "/v1/responses/{response_id}", http.get(f"/v1/responses/{response_id}")),
        (
            "get",
            "/v1/responses/{response_id}/input_items",
            http.get(f"/v1/responses/{response_id}/input_items"),
        ),
        ("delete", "/v1/responses/{response_id}", http.delete(f"/v1/responses/{response_id}")),
        # errors, in the documented error object
        ("get", "/v1/responses/{response_id}", http.get(f"/v1/responses/{response_id}")),
        ("post", "/v1/responses", http.post("/v1/responses", json={"model": "local-echo"})),
        ("get", "/v1/models", http.get("/v1/models", headers={"authorization": "Bearer nope"})),
    ]
    for method, path, response in checks:
        documented = document["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code)
        assert_documented(document, method, path, response)


def test_admin_answers_match_their_documented_schemas(tmp_path: Any) -> None:
    from continuum.testing.server import serve_in_thread

    admin = {"authorization": "Bearer sk-admin-openapi-0000000001"}
    settings = Settings.from_env(
        {"CONTINUUM_ADMIN_KEY": "sk-admin-openapi-0000000001"}, data_dir=tmp_path
    )
    with (
        serve_in_thread(create_app(settings)) as url,
        httpx.Client(base_url=url, headers=admin) as http,
    ):
        document = http.get("/openapi.json").json()
        made = http.post("/admin/keys", json={"name": "docs", "rate_limit": "10/minute"})
        key_id = made.json()["id"]
        for method, path, response in [
            ("post", "/admin/keys", made),
            ("get", "/admin/keys", http.get("/admin/keys")),
            ("get", "/admin/keys/{key_id}", http.get(f"/admin/keys/{key_id}")),
            (
                "patch",
                "/admin/keys/{key_id}",
                http.patch(f"/admin/keys/{key_id}", json={"name": "d2"}),
            ),
            ("delete", "/admin/keys/{key_id}", http.delete(f"/admin/keys/{key_id}")),
            ("get", "/admin/keys/{key_id}", http.get("/admin/keys/nope")),
            ("post", "/admin/keys", http.post("/admin/keys", json={"owner": "no name"})),
        ]:
            assert str(response.status_code) in document["paths"][path][method]["responses"]
            assert_documented(document, method, path, response)


def test_stream_answers_match_their_documented_schemas(tmp_path: Any) -> None:
    from continuum.testing.server import serve_in_thread
    from tests.streams.conftest import init_token, stream_env

    settings = Settings.from_env(stream_env(tmp_path, CONTINUUM_ADMIN_KEY="sk-admin-openapi-01"))
    admin = {"authorization": "Bearer sk-admin-openapi-01"}
    with serve_in_thread(create_app(settings)) as url, httpx.Client(base_url=url) as http:
        document = http.get("/openapi.json").json()
        made = http.post("/init-stream", json={"n8nToken": init_token(), "prompt": "hi"})
        stream_url = made.json()["streamUrl"]
        stream_path = stream_url[len(url) :]
        sse = http.get(stream_path)
        assert sse.headers["content-type"].startswith("text/event-stream")
        ops = document["paths"]
        assert (
            "text/event-stream" in ops["/stream/{stream_id}"]["get"]["responses"]["200"]["content"]
        )
        last = [line for line in sse.text.splitlines() if line.startswith("id: ")][-1][4:]
        ended = http.get(stream_path, headers={"last-event-id": last})
        assert ended.status_code == 204 and "204" in ops["/stream/{stream_id}"]["get"]["responses"]
        for method, path, response in [
            ("post", "/init-stream", made),
            ("post", "/init-stream", http.post("/init-stream", json={"prompt": "hi"})),
            ("post", "/init-stream", http.post("/init-stream", json={"n8nToken": "x"})),
            ("get", "/stream/{stream_id}", http.get(stream_path.split("?")[0])),
            ("get", "/stream/{stream_id}", http.get("/stream/nope?access_token=x")),
            ("get", "/admin/callbacks", http.get("/admin/callbacks", headers=admin)),
            (
                "get",
                "/admin/callbacks/{delivery_id}",
                http.get("/admin/callbacks/x", headers=admin),
            ),
            (
                "post",
                "/admin/callbacks/{delivery_id}/requeue",
                http.post("/admin/callbacks/x/requeue", headers=admin),
            ),
        ]:
            assert str(response.status_code) in document["paths"][path][method]["responses"]
            assert_documented(document, method, path, response)


def test_docs_pages_and_their_assets_are_served_locally(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/docs/assets/swagger-ui-bundle.js" in page.text and "/openapi.json" in page.text
    assert "cdn.jsdelivr.net" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        response = http.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 10_000, asset
    redoc = http.get("/redoc")
    assert redoc.status_code == 200 and "/docs/assets/redoc.standalone.js" in redoc.text
