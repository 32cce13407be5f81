"""Headless Chromium for browser tests: Debian's ``chromium`` driven by Playwright.

Playwright cannot download its own browsers here, so it launches the system binary
through ``executable_path``. Without the binary the tests skip loudly (fail in CI,
where ``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.services import unavailable

# Background networking would try (and fail) to reach Google's hosts on this closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        unavailable("Debian's chromium (apt-get install chromium)")
    assert path is not None
    return path


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Playwright ``Browser`` on the system Chromium."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
