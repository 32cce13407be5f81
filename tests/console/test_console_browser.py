"""The web console in headless Chromium against a real gateway: log in, stream, usage
charts, key management. Every test fails on a console error or a CSP violation (see
``conftest.open_console``) and leaves a screenshot under tests/artifacts/console/."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ECHO_KEY, FULL_KEY, Running
from tests.console.conftest import (
    ADMIN_KEY,
    BOSS_KEY,
    CHARTS_KEY,
    ConsolePage,
    open_console,
    start_gateway,
)


def answer_of(url: str, key: str, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    """The same chat, asked without streaming: what the console must end up showing."""
    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "messages": messages},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ask(ui: ConsolePage, text: str, model: str, door: str = "sse") -> None:
    ui.page.select_option("#chat-model", model)
    ui.page.select_option("#chat-door", door)
    ui.page.fill("#chat-input", text)
    ui.page.click("#chat-send")


def wait_done(ui: ConsolePage) -> None:
    ui.page.wait_for_function(
        "() => document.getElementById('stat-status').dataset.value === 'done'"
    )


def assistant_texts(ui: ConsolePage) -> list[str]:
    texts: list[str] = ui.page.eval_on_selector_all(
        "#transcript .message.assistant .content", "nodes => nodes.map(n => n.textContent)"
    )
    return texts


def test_log_in_and_stream_an_answer_over_sse(ui: ConsolePage, console_gateway: Running) -> None:
    ui.login(FULL_KEY)
    assert ui.page.text_content("#who-name") == "full"
    models = ui.page.eval_on_selector_all("#chat-model option", "os => os.map(o => o.value)")
    assert sorted(models) == ["agent/helper", "local-echo", "local-slow", "local-text"]
    assert ui.page.is_hidden('#tabs a[data-view="keys"]')  # not an admin

    question = "Tell me how a gateway streams tokens."
    expected = answer_of(
        console_gateway.url, FULL_KEY, "local-slow", [{"role": "user", "content": question}]
    )
    whole = expected["choices"][0]["message"]["content"]
    ask(ui, question, "local-slow")
    # Mid-stream: part of the answer is on the screen (read in the same instant as the
    # check, so a loaded machine cannot let the stream finish in between), and so is the
    # time to first token.
    partial = ui.page.wait_for_function(
        """(total) => {
            const text = document.querySelector('#transcript .assistant .content')?.textContent ?? '';
            const streaming = document.getElementById('stat-status').dataset.value === 'streaming';
            return streaming && text.length > 0 && text.length < total ? text : false;
        }""",
        arg=len(whole),
    ).json_value()
    assert float(ui.value("#stat-ttft")) > 0
    ui.screenshot("playground-streaming")
    wait_done(ui)

    final = assistant_texts(ui)[0]
    assert final == whole
    assert whole.startswith(partial) and len(partial) < len(final)
    assert int(ui.value("#stat-tokens")) == expected["usage"]["completion_tokens"]
    assert float(ui.value("#stat-rate")) > 0
    # 20 ms between tokens: about 50 tokens/s, where an unpaced model shows thousands.
    assert float(ui.value("#stat-rate")) < 200
    assert ui.page.is_enabled("#chat-send") and ui.page.is_disabled("#chat-stop")

    # A second turn carries the first as history (local-echo repeats the last message).
    ask(ui, "and again", "local-echo")
    ui.page.wait_for_function(
        "() => document.querySelectorAll('#transcript .assistant').length === 2"
    )
    wait_done(ui)
    assert assistant_texts(ui)[1] == "and again"
    ui.screenshot("playground")


@pytest.mark.parametrize("door", ["sse", "ws"])
def test_an_agent_streams_in_the_playground_like_a_model(ui: ConsolePage, door: str) -> None:
    ui.login(FULL_KEY)
    ask(ui, "agents are models too", "agent/helper", door)  # its model echoes the question
    wait_done(ui)
    assert assistant_texts(ui) == ["agents are models too"]
    assert int(ui.value("#stat-tokens")) > 0
    ui.screenshot(f"playground-agent-{door}")


def test_a_key_sees_only_the_agents_it_may_use(ui: ConsolePage) -> None:
    ui.login(ECHO_KEY)  # permitted local-echo only: not the agent that runs on it
    models = ui.page.eval_on_selector_all("#chat-model option", "os => os.map(o => o.value)")
    assert models == ["local-echo"]


def test_stop_ends_a_stream_early(ui: ConsolePage) -> None:
    ui.login(FULL_KEY)
    ui.page.fill("#chat-max-tokens", "400")
    ask(ui, "Write at length about queues and caches.", "local-slow")
    ui.page.wait_for_function(
        "() => document.querySelector('#transcript .assistant .content').textContent.length > 20"
    )
    ui.page.click("#chat-stop")
    ui.page.wait_for_function(
        "() => document.getElementById('stat-status').dataset.value === 'stopped'"
    )
    assert assistant_texts(ui)[0]
    assert ui.page.is_enabled("#chat-send")
    assert ui.page.is_hidden("#notice")  # stopping is not an error


def test_usage_appears_in_the_charts(ui: ConsolePage, console_gateway: Running) -> None:
    ui.login(CHARTS_KEY)
    for text, model in (("one", "local-echo"), ("two words", "local-echo"), ("hi", "local-text")):
        ui.page.click("#chat-clear")
        ask(ui, text, model)
        wait_done(ui)
    ui.view("usage")
    ui.page.wait_for_selector('#chart-models g.bar[data-label="local-text"]')

    usage = httpx.get(
        f"{console_gateway.url}/usage", headers={"authorization": f"Bearer {CHARTS_KEY}"}
    ).json()
    tokens: dict[str, int] = {}
    for row in usage["data"]:
        tokens[row["model"]] = tokens.get(row["model"], 0) + row["total_tokens"]
    bars = dict(
        ui.page.eval_on_selector_all(
            "#chart-models g.bar", "gs => gs.map(g => [g.dataset.label, Number(g.dataset.value)])"
        )
    )
    assert bars == tokens and set(bars) == {"local-echo", "local-text"}
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    column = ui.page.get_attribute(f'#chart-days g.column[data-label="{today}"]', "data-value")
    assert int(column) == sum(tokens.values())
    assert ui.value("#usage-totals div:last-child dd") == str(usage["totals"]["total_tokens"])
    assert ui.page.locator("#usage-table tbody tr").count() == len(usage["data"])
    ui.screenshot("usage")

    ui.page.select_option("#usage-measure", "requests")
    requests = dict(
        ui.page.eval_on_selector_all(
            "#chart-models g.bar", "gs => gs.map(g => [g.dataset.label, Number(g.dataset.value)])"
        )
    )
    assert requests == {"local-echo": 2, "local-text": 1}
    segments = ui.page.eval_on_selector_all(
        f'#chart-days g.column[data-label="{today}"] rect',
        "rs => rs.map(r => [r.dataset.series, Number(r.dataset.value)])",
    )
    assert sorted(segments) == [["local-echo", 2], ["local-text", 1]]


def wait_for_status(url: str, key: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(f"{url}/v1/models", headers={"authorization": f"Bearer {key}"})
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_admin_creates_and_revokes_a_key(ui: ConsolePage, console_gateway: Running) -> None:
    ui.login(ADMIN_KEY)
    assert ui.page.text_content("#who-name") == "admin key"
    assert ui.page.is_visible("#chat-empty")  # the admin key is nobody's key to chat with
    ui.view("keys")
    name = f"e2e-{time.monotonic_ns()}"
    ui.page.fill("#key-name", name)
    ui.page.fill("#key-models", "local-echo")
    ui.page.fill("#key-limits", "5/minute")
    ui.page.fill("#key-ttl", "3600")
    ui.page.click("#key-form button[type=submit]")
    ui.page.wait_for_selector("#key-created:not([hidden])")
    key = ui.page.text_content("#key-secret")
    assert key and key.startswith("ck-")

    # The new key works, for exactly the model it was given.
    models = wait_for_status(console_gateway.url, key, 200)
    assert [m["id"] for m in models.json()["data"]] == ["local-echo"]
    row = ui.page.locator("#keys-table tbody tr", has_text=name)
    row.wait_for()
    assert row.get_attribute("data-state") == "active"
    assert "5/minute" in row.inner_text() and "local-echo" in row.inner_text()
    ui.screenshot("keys")

    button = row.locator("button")
    button.click()
    assert button.inner_text() == "Confirm revoke"  # one click arms, the second revokes
    button.click()
    ui.page.wait_for_selector(f'#keys-table tbody tr[data-state="revoked"]:has-text("{name}")')
    assert wait_for_status(console_gateway.url, key, 401).status_code == 401
    ui.screenshot("keys-revoked")


def test_a_users_yml_admin_sees_keys_and_everyones_usage(ui: ConsolePage) -> None:
    ui.login(BOSS_KEY)
    assert ui.page.is_visible('#tabs a[data-view="keys"]')
    ui.view("usage")
    ui.page.select_option("#usage-scope", "*")
    ui.page.wait_for_function(
        "() => document.querySelectorAll('#usage-table tbody tr').length > 0"
        " || document.querySelector('#chart-models text.empty') !== null"
    )
    ui.view("keys")
    ui.page.wait_for_selector("#keys-table")


def test_a_wrong_key_is_refused_with_a_message(ui: ConsolePage) -> None:
    ui.open()
    ui.page.fill("#login-key", "sk-not-a-real-key-000000")
    ui.page.click("#login-form button[type=submit]")
    ui.page.wait_for_selector("#notice:not([hidden])")
    assert "key" in (ui.page.text_content("#notice") or "").lower()
    assert ui.page.is_visible("#login") and ui.page.is_hidden("#tabs")
    assert ui.page.evaluate("sessionStorage.getItem('continuum.key')") is None
    ui.screenshot("login-refused")


def test_the_key_lives_in_the_tab_session_only(ui: ConsolePage, browser: Any) -> None:
    ui.login(ECHO_KEY)
    assert ui.page.evaluate("sessionStorage.getItem('continuum.key')") == ECHO_KEY
    assert ui.page.evaluate("localStorage.length") == 0
    assert ui.page.context.cookies() == []
    ui.page.reload()  # same tab: still logged in
    ui.page.wait_for_selector("#tabs:not([hidden])")
    ui.page.click("#logout")
    ui.page.wait_for_selector("#login:not([hidden])")
    assert ui.page.evaluate("sessionStorage.getItem('continuum.key')") is None


def test_a_forbidden_model_shows_the_gateways_error(ui: ConsolePage) -> None:
    ui.login(ECHO_KEY)
    # The select offers only permitted models; force another one to see the refusal.
    ui.page.evaluate(
        "document.getElementById('chat-model').append(new Option('local-text', 'local-text'))"
    )
    ask(ui, "hello", "local-text")
    ui.page.wait_for_function(
        "() => document.getElementById('stat-status').dataset.value === 'error'"
    )
    assert "does not exist" in (ui.page.text_content("#notice") or "")
    # The 404 (a forbidden model looks unknown) is the one console error this test expects
    # (Chrome logs failed fetches).
    assert len(ui.errors) == 1 and "404" in ui.errors[0]
    ui.errors.clear()


@pytest.fixture(scope="module")
def cors_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from start_gateway(
        tmp_path_factory.mktemp("cors"), cors_origins=("https://app.example.com",)
    )


def test_the_console_works_with_cors_origins_configured(
    browser: Any, cors_gateway: Running
) -> None:
    for ui in open_console(browser, cors_gateway.url):
        ui.login(FULL_KEY)
        ask(ui, "same origin", "local-echo")
        wait_done(ui)
        assert assistant_texts(ui) == ["same origin"]
    # CORS itself still serves the configured origin.
    preflight = httpx.options(
        f"{cors_gateway.url}/v1/chat/completions",
        headers={
            "origin": "https://app.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"


def test_the_policy_is_enforced_and_violations_are_seen(
    browser: Any, console_gateway: Running
) -> None:
    """The detectors the other tests rely on do fire when something breaks the policy."""
    runs = open_console(browser, console_gateway.url)
    ui = next(runs)
    ui.open()
    blocked = ui.page.evaluate(
        """() => {
            const style = document.createElement('style');
            style.textContent = 'body { background: red }';
            document.head.append(style);
            try { document.body.insertAdjacentHTML('beforeend', '<b>x</b>'); return false; }
            catch (error) { return error instanceof TypeError; }
        }"""
    )
    ui.page.wait_for_function("() => window.__cspViolations.length >= 2")
    assert blocked  # Trusted Types refused an HTML string
    violations = ui.violations()
    assert any(v.startswith("style-src") for v in violations), violations
    assert any("trusted-types" in v for v in violations), violations
    assert any("Content Security Policy" in e for e in ui.errors), ui.errors
    with pytest.raises(AssertionError):
        next(runs)  # the fixture's check fails, as it must
    runs.close()


def websocket_door_exists(url: str) -> bool:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(url.replace("http://", "ws://") + "/v1/chat/completions/ws"):
            return True
    except InvalidStatus:  # no such route: the handshake is refused
        return False


def test_stream_over_websocket(ui: ConsolePage, console_gateway: Running) -> None:
    """Seed 000's WebSocket door, through the console's client (ws.js)."""
    if not websocket_door_exists(console_gateway.url):
        pytest.skip("the WebSocket door (issue 10) has not landed yet")
    ui.login(FULL_KEY)
    question = "Stream this over a WebSocket."
    ask(ui, question, "local-slow", door="ws")
    wait_done(ui)
    expected = answer_of(
        console_gateway.url, FULL_KEY, "local-slow", [{"role": "user", "content": question}]
    )
    assert assistant_texts(ui) == [expected["choices"][0]["message"]["content"]]
    assert int(ui.value("#stat-tokens")) == expected["usage"]["completion_tokens"]
    ui.screenshot("playground-websocket")
