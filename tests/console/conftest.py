"""A gateway for the console tests, and a Chromium page that fails the test on any console
error or Content-Security-Policy violation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.conftest import ECHO_KEY, FULL_KEY, Running

ADMIN_KEY = "console-admin-key-5a8e0f1d2c3b4a69"  # CONTINUUM_ADMIN_KEY
BOSS_KEY = "sk-test-boss-admin-0123456789"  # a users.yml user with admin: true
CHARTS_KEY = "sk-test-charts-user-0123456789"  # a user only the usage test spends
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"

USERS_YML = f"""
users:
  - token: "{FULL_KEY}"
    name: "full"
    permissions: "*"
  - token: "{ECHO_KEY}"
    name: "echo-only"
    permissions: ["local-echo"]
  - token: "{CHARTS_KEY}"
    name: "charts"
    permissions: "*"
  - token: "{BOSS_KEY}"
    name: "boss"
    permissions: "*"
    admin: true
"""

MODELS_YML = """
models:
  - id: local-text
    provider: local
    upstream_model: text
  - id: local-echo
    provider: local
    upstream_model: echo
  - id: local-slow
    provider: local
    upstream_model: text
    token_delay: 0.02
"""

# Agents are models too (agent/<name>): the playground lists and streams them.
AGENTS_YML = """
agents:
  - name: helper
    model: local-echo
"""

# Records CSP violations in the page, before any of its own scripts run.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


def start_gateway(tmp: Path, **overrides: Any) -> Iterator[Running]:
    config = tmp / "config"
    config.mkdir()
    (config / "users.yml").write_text(USERS_YML)
    (config / "models.yml").write_text(MODELS_YML)
    (config / "agents.yml").write_text(AGENTS_YML)
    settings = Settings.from_env(
        {}, config_dir=config, data_dir=tmp / "data", admin_key=ADMIN_KEY, **overrides
    )
    with serve_in_thread(create_app(settings)) as url:
        yield Running(url, config, tmp / "data")


@pytest.fixture(scope="session")
def console_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start_gateway(tmp_path_factory.mktemp("console"))


@dataclass
class ConsolePage:
    """A Playwright page on the console, collecting what must stay empty."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self) -> None:
        self.page.goto(f"{self.url}/ui")
        self.page.wait_for_selector("#login:not([hidden])")

    def login(self, key: str) -> None:
        self.open()
        self.page.fill("#login-key", key)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_selector("#tabs:not([hidden])")

    def view(self, name: str) -> None:
        self.page.click(f'#tabs a[data-view="{name}"]')
        self.page.wait_for_selector(f"#view-{name}:not([hidden])")

    def value(self, selector: str) -> str:
        text: str = self.page.get_attribute(selector, "data-value")
        return text

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("() => window.__cspViolations || []")
        return found

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path


def open_console(browser: Any, url: str) -> Iterator[ConsolePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    console = ConsolePage(page, url)
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    try:
        yield console
        assert console.errors == [], console.errors
        assert console.violations() == []
    finally:
        context.close()


@pytest.fixture
def ui(browser: Any, console_gateway: Running) -> Iterator[ConsolePage]:
    """The console in a fresh browser context; the test fails on console errors or CSP
    violations."""
    yield from open_console(browser, console_gateway.url)
