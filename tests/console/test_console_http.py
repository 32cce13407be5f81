"""The console's HTTP side, in process: every /ui response carries the policy, only
shipped files are served, the session endpoint, and assets that need no inline code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from continuum.app import create_app
from continuum.doors.http.console import STATIC, content_security_policy
from continuum.settings import Settings
from tests.conftest import ECHO_KEY, FULL_KEY, NONE_KEY
from tests.console.conftest import ADMIN_KEY, AGENTS_YML, BOSS_KEY, MODELS_YML, USERS_YML

ROOT = Path(__file__).resolve().parents[2]
NONE_USERS = f'  - token: "{NONE_KEY}"\n    name: "nobody"\n    permissions: []\n'


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.yml").write_text(USERS_YML + NONE_USERS)
    (config / "models.yml").write_text(MODELS_YML)
    (config / "agents.yml").write_text(AGENTS_YML)
    settings = Settings.from_env(
        {}, config_dir=config, data_dir=tmp_path / "data", admin_key=ADMIN_KEY
    )
    app: FastAPI = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gw.test:8080") as http,
    ):
        yield http


def policy(response: httpx.Response) -> dict[str, str]:
    header = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in header.split("; ")}


async def test_every_ui_response_carries_the_policy(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/ui"),
        await client.get("/ui/"),
        await client.get("/ui/index.html"),
        await client.get("/ui/console.css"),
        await client.get("/ui/js/main.js"),
        await client.get("/ui/icon.svg"),
        await client.get("/ui/missing.js"),
        await client.get("/ui/api/session"),
        await client.get("/ui/api/session", headers={"authorization": f"Bearer {FULL_KEY}"}),
        await client.head("/ui/"),
        await client.post("/ui/"),
        await client.post("/ui"),
        await client.delete("/ui/api/session"),
        await client.options("/ui/index.html"),
    ]
    assert [r.status_code for r in responses[-5:]] == [200, 405, 405, 405, 405]
    assert responses[-4].headers["allow"] == "GET, HEAD"
    for response in responses:
        directives = policy(response)
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
        assert directives["style-src"] == "'self'"
        assert directives["connect-src"] == "'self' ws://gw.test:8080 wss://gw.test:8080"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert directives["require-trusted-types-for"] == "'script'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    redirect = responses[0]
    assert redirect.status_code == 308 and redirect.headers["location"] == "ui/"


async def test_files_have_their_types_and_revalidate(client: httpx.AsyncClient) -> None:
    index = await client.get("/ui/")
    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.text == STATIC.joinpath("index.html").read_text()
    script = await client.get("/ui/js/main.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert (await client.get("/ui/console.css")).headers["content-type"].startswith("text/css")
    assert (await client.get("/ui/icon.svg")).headers["content-type"] == "image/svg+xml"
    again = await client.get("/ui/js/main.js", headers={"if-none-match": script.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/ui/%2e%2e/app.py",
        "/ui/js/%2e%2e/%2e%2e/__init__.py",
        "/ui/.hidden.js",
        "/ui/js//main.js",
        "/ui/__init__.py",
        "/ui/static",
        "/ui/nope.html",
        "/ui/js",
    ],
)
async def test_only_shipped_assets_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404, path
    assert response.json()["error"]["code"] == "not_found"
    assert "content-security-policy" in response.headers


async def test_session_says_who_a_key_is(client: httpx.AsyncClient) -> None:
    async def session(key: str | None) -> dict[str, object]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        response = await client.get("/ui/api/session", headers=headers)
        assert response.status_code == 200  # a refused key is an answer, not an error
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, object] = response.json()
        return body

    full = await session(FULL_KEY)
    assert full == {
        "valid": True,
        "user": "full",
        "name": "full",
        "admin": False,
        "admin_key": False,
        "models": ["local-text", "local-echo", "local-slow", "agent/helper"],
    }
    assert (await session(ECHO_KEY))["models"] == ["local-echo"]
    assert (await session(NONE_KEY))["models"] == []
    boss = await session(BOSS_KEY)
    assert boss["admin"] is True and boss["admin_key"] is False and boss["models"]
    admin = await session(ADMIN_KEY)
    assert admin["admin"] is True and admin["admin_key"] is True and admin["models"] == []
    for key in ("sk-wrong-0000000000", None):
        refused = await session(key)
        assert refused["valid"] is False
        assert refused["error"]["code"] == "invalid_api_key"  # type: ignore[index]


def test_connect_src_names_only_a_well_formed_host() -> None:
    assert "ws://[::1]:8080" in content_security_policy("[::1]:8080")
    for host in ("evil.com; script-src *", "a b", "x'y", "", None):
        assert content_security_policy(host).count("connect-src 'self';") == 1


class _Markup(HTMLParser):
    """Collects what a strict policy would refuse in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        values = dict(attrs)
        if tag == "style" or "style" in names:
            self.problems.append(f"inline style on <{tag}>")
        if any(name.startswith("on") for name in names):
            self.problems.append(f"inline handler on <{tag}>")
        for name in ("src", "href"):
            value = values.get(name) or ""
            if re.match(r"^(https?:)?//|^javascript:", value):
                self.problems.append(f"<{tag} {name}={value}> is not this origin")
        if tag == "script":
            self.scripts.append(values.get("src") or "")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script")


def test_the_page_has_no_inline_code_and_no_remote_assets() -> None:
    markup = _Markup()
    markup.feed(STATIC.joinpath("index.html").read_text())
    assert markup.problems == []
    assert markup.scripts == ["js/main.js"]
    scripts = {
        path.name: path.read_text() for path in (ROOT / "continuum/ui/static/js").glob("*.js")
    }
    assert set(scripts) >= {
        "main.js",
        "api.js",
        "sse.js",
        "ws.js",
        "charts.js",
        "usage.js",
        "keys.js",
    }
    for name, source in scripts.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{name} uses {sink}"
        assert "new Function" not in source and "localStorage" not in source, name
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", source), (
            f"{name} names a remote URL"
        )
    css = STATIC.joinpath("console.css").read_text()
    assert "@import" not in css and "url(" not in css


def test_the_wheel_ships_the_console(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ and egg-info behind in its source.
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "continuum", source / "continuum", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("continuum_gateway-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"continuum/ui/static/{path.relative_to(ROOT / 'continuum/ui/static')}"
        for path in (ROOT / "continuum/ui/static").rglob("*")
        if path.is_file()
    }
    assert len(shipped) >= 10
    assert shipped <= names, shipped - names
