"""The browser fixture drives the system Chromium against a real gateway socket."""

from __future__ import annotations

from typing import Any

from tests.conftest import Running


def test_chromium_fetches_health_from_the_gateway(browser: Any, gateway: Running) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{gateway.url}/health")
        body = page.evaluate("() => JSON.parse(document.body.innerText)")
    finally:
        page.close()
    assert body["status"] == "ok"
    assert body["models"] >= 2
