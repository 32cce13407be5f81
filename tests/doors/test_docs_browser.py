"""``/docs`` renders in headless Chromium with no network but the gateway's own.

Its own module, with only sync tests: the ``browser`` fixture runs Playwright's event
loop while it is open. Requests to any other host fail the test (the page must not need
a CDN); a screenshot is left under tests/artifacts/docs/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Running

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "docs"


def test_swagger_ui_renders_every_operation(browser: Any, gateway: Running) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(gateway.url) else foreign.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{gateway.url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        paths = page.eval_on_selector_all(
            ".opblock-summary-path", "nodes => nodes.map(n => n.getAttribute('data-path'))"
        )
        for path in ("/v1/responses", "/v1/responses/{response_id}/input_items", "/v1/completions"):
            assert path in paths, paths
        document = page.evaluate("fetch('/openapi.json').then(r => r.json())")
        operations = sum(len(item) for item in document["paths"].values())
        assert len(paths) == operations
        # Open "Create a text completion": its request body and its answers are shown.
        # (The Responses operations render too, but slowly: every lifecycle event of the
        # stream carries the whole official Response schema.)
        operation = "#operations-OpenAI-create_completion_v1_completions_post"
        page.click(f"{operation} .opblock-summary")
        page.wait_for_selector(f"{operation} .responses-table")
        body = page.text_content(operation)
        assert body is not None and "Request body" in body and "CompletionRequest" in body
        assert "429" in body and "CreateCompletionResponse" in body
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "swagger.png"), full_page=False)
    finally:
        page.close()
    assert not foreign, f"the docs page reached outside the gateway: {foreign}"
    assert not errors, errors
