"""Structured logs: the formats, the level, the access line, and redaction of every leak."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import orjson
import pytest

from continuum.errors import ConfigError
from continuum.observability.access import AccessLog
from continuum.observability.logging import configure_logging, level_from, parse_level
from continuum.observability.redaction import Redactor

OPENAI_KEY = "sk-proj-Abc123Def456Ghi789Jkl"
CONTINUUM_KEY = "ck-4f1d2e3c4b5a69788766554433"
ANTHROPIC_KEY = "sk-ant-api03-XyZ_0123456789abcdef"
ADMIN_KEY = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"  # openssl rand -hex 16: no recognisable prefix
USER_TOKEN = "dev-token-strong-and-secret"  # seed 000's users.yml token
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJzZXNzaW9uLTEyMyIsImV4cCI6MTcwMDAwMDAwMH0"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
PROMPT = "PROMPT-TEXT my confidential diagnosis is 42"
SECRETS = (OPENAI_KEY, CONTINUUM_KEY, ANTHROPIC_KEY, ADMIN_KEY, USER_TOKEN, JWT)


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """configure_logging changes this process's logging; put it back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "continuum.access")
    loggers = {n: logging.getLogger(n) for n in names}
    state = {n: (list(lg.handlers), lg.propagate, lg.level) for n, lg in loggers.items()}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, logger in loggers.items():
        logger.handlers[:], logger.propagate, level = state[name]
        logger.setLevel(level)


def configured(fmt: str = "json", level: str = "debug", **options: object) -> io.StringIO:
    stream = io.StringIO()
    redactor = Redactor([ADMIN_KEY, USER_TOKEN], **options)  # type: ignore[arg-type]
    handler = configure_logging(level, fmt=fmt, stream=stream, redactor=redactor)  # type: ignore[arg-type]
    logging.getLogger().handlers[:] = [handler]  # as in production: pytest's capture is not there
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


# -- formats and levels --------------------------------------------------------------------


def test_json_lines_carry_the_message_and_extra_fields() -> None:
    stream = configured("json")
    logging.getLogger("continuum.test").info("hello %s", "world", extra={"request_id": "r-1"})
    [line] = json_lines(stream)
    assert line["msg"] == "hello world"
    assert line["level"] == "info"
    assert line["logger"] == "continuum.test"
    assert line["request_id"] == "r-1"
    assert isinstance(line["ts"], str) and line["ts"].endswith("Z")


def test_text_lines_are_readable() -> None:
    stream = configured("text")
    logging.getLogger("continuum.test").warning(
        "disk %s", "full", extra={"free_mb": 3, "path": "/a b"}
    )
    line = stream.getvalue().strip()
    assert " WARNING continuum.test: disk full free_mb=3 " in line
    assert line.endswith('path="/a b"')


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_text_on_a_terminal_and_json_elsewhere() -> None:
    terminal = _Terminal()
    configure_logging("info", stream=terminal)
    logging.getLogger("continuum.test").info("to a person")
    assert terminal.getvalue().split(" ", 2)[1] == "INFO"
    pipe = io.StringIO()
    configure_logging("info", stream=pipe)
    logging.getLogger("continuum.test").info("to a collector")
    assert orjson.loads(pipe.getvalue())["msg"] == "to a collector"
    assert "to a collector" not in terminal.getvalue()  # the old handler was replaced


def test_the_level_filters_records() -> None:
    stream = configured("json", level="warning")
    log = logging.getLogger("continuum.test")
    log.info("not shown")
    log.warning("shown")
    assert [line["msg"] for line in json_lines(stream)] == ["shown"]


def test_level_variables() -> None:
    assert level_from(None, None) == "info"
    assert level_from("debug", "ERROR") == "debug"  # CONTINUUM_LOG_LEVEL wins
    assert level_from(None, "DEBUG") == "debug"  # seed 003's variable and spelling
    assert level_from("", "Warn") == "warning"
    assert parse_level("CRITICAL") == logging.CRITICAL
    with pytest.raises(ConfigError, match="GATEWAY__LOG_LEVEL"):
        level_from(None, "verbose")
    with pytest.raises(ConfigError, match="CONTINUUM_LOG_LEVEL"):
        level_from("loud", None)


def test_uvicorn_records_go_through_the_same_handler() -> None:
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.addHandler(logging.NullHandler())
    uvicorn_access.propagate = False  # as uvicorn's own logging config leaves it
    stream = configured("json")
    uvicorn_access.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/v1/chat/completions/ws?token={CONTINUUM_KEY}",
        "1.1",
        101,
    )
    [line] = json_lines(stream)
    assert line["logger"] == "uvicorn.access"
    assert "token=[redacted]" in str(line["msg"])
    assert CONTINUUM_KEY not in stream.getvalue()


# -- redaction: every way a secret or a prompt could reach a log line ---------------------------


def _boom(log: logging.Logger) -> None:
    try:
        raise ValueError(f"upstream refused key {OPENAI_KEY}, then {JWT}")
    except ValueError:
        log.exception("call failed")


def _invalid_body(log: logging.Logger) -> None:
    """pydantic quotes the offending input, here a whole message, in its error text."""
    from pydantic import ValidationError

    from continuum.dialects.openai.request import ChatCompletionRequest

    body = {"model": "m", "messages": [{"rol": "user", "content": PROMPT}, PROMPT]}
    try:
        ChatCompletionRequest.model_validate(body)
    except ValidationError:
        log.exception("bad body from %s", OPENAI_KEY)


LEAKS: dict[str, Callable[[logging.Logger], None]] = {
    "key as an argument": lambda log: log.info("using key %s", OPENAI_KEY),
    "key in an f-string": lambda log: log.info(f"created {CONTINUUM_KEY} for bob"),
    "anthropic key in a dict argument": lambda log: log.info(
        "config %s", {"x-api-key": ANTHROPIC_KEY}
    ),
    "bearer header in extra": lambda log: log.info(
        "upstream call", extra={"headers": {"Authorization": f"Bearer {ADMIN_KEY}"}}
    ),
    "bearer in text": lambda log: log.warning(f"got header Authorization: Bearer {USER_TOKEN}"),
    "jwt in text": lambda log: log.info(f"session token {JWT} accepted"),
    "jwt in an extra field": lambda log: log.info("session", extra={"session_jwt": JWT}),
    "admin key without a prefix": lambda log: log.error("admin key %r rejected", ADMIN_KEY),
    "users.yml token": lambda log: log.info("user %s", {"name": "dev", "token": USER_TOKEN}),
    "key=value in a url": lambda log: log.info(f"GET /v1/models?api_key={ADMIN_KEY}&x=1"),
    "prompt in an extra field": lambda log: log.info(
        "request", extra={"messages": [{"role": "user", "content": PROMPT}]}
    ),
    "prompt in a body argument": lambda log: log.debug(
        "body %s", {"model": "local-text", "messages": [{"role": "user", "content": PROMPT}]}
    ),
    "prompt as the message object": lambda log: log.info({"prompt": PROMPT, "api_key": OPENAI_KEY}),
    "secrets in a traceback": _boom,
    "prompt quoted by a validation error": _invalid_body,
    "secrets in %-mapping arguments": lambda log: log.info(
        "%(who)s sent %(prompt)s", {"who": OPENAI_KEY, "prompt": PROMPT}
    ),
}


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("leak", list(LEAKS), ids=list(LEAKS))
def test_no_key_token_jwt_or_prompt_reaches_the_output(fmt: str, leak: str) -> None:
    stream = configured(fmt)
    LEAKS[leak](logging.getLogger("continuum.test"))
    output = stream.getvalue()
    assert output.strip(), "the record was dropped instead of redacted"
    assert "[redacted" in output
    for secret in SECRETS:
        assert secret not in output
    assert "PROMPT-TEXT" not in output and "diagnosis" not in output


def test_prompts_appear_only_when_enabled_and_keys_never() -> None:
    stream = configured("json", log_prompts=True)
    logging.getLogger("continuum.test").info(
        "request", extra={"messages": [{"role": "user", "content": PROMPT}], "key": OPENAI_KEY}
    )
    output = stream.getvalue()
    assert PROMPT in output
    assert OPENAI_KEY not in output


def test_two_handlers_redact_once_and_both_see_it() -> None:
    first = configured("json")
    second = io.StringIO()
    extra = logging.StreamHandler(second)
    logging.getLogger().addHandler(extra)  # e.g. a file handler added by an operator
    logging.getLogger("continuum.test").info("key %s", OPENAI_KEY)
    assert OPENAI_KEY not in first.getvalue()
    assert OPENAI_KEY not in second.getvalue() and "[redacted]" in second.getvalue()


def test_ordinary_text_is_left_alone() -> None:
    redactor = Redactor()
    for text in (
        "completion_tokens=20 prompt_tokens=3 total_tokens=23",
        "basic usage of a bearer token; task-manager; risk-assessment",
        "model=local-text deployment=local status=200",
    ):
        assert redactor.text(text) == text


def test_a_broken_format_string_still_logs_redacted() -> None:
    stream = configured("json")
    logging.getLogger("continuum.test").info("%d items for %s", "many", OPENAI_KEY)
    [line] = json_lines(stream)
    assert "items for" in str(line["msg"]) and OPENAI_KEY not in stream.getvalue()


# -- the access line ------------------------------------------------------------------------


def test_access_line_has_the_request_fields_and_nothing_of_its_content() -> None:
    stream = configured("json", level="info")
    AccessLog().request_finished(
        request_id="chatcmpl-abc123",
        door="openai",
        model="local-text",
        deployment="local",
        status=200,
        latency_s=0.01234,
        ttft_s=0.002,
        prompt_tokens=12,
        completion_tokens=40,
        user="full",
        key_id="key_01",
    )
    [line] = json_lines(stream)
    assert line == {
        "ts": line["ts"],
        "level": "info",
        "logger": "continuum.access",
        "msg": "request",
        "request_id": "chatcmpl-abc123",
        "door": "openai",
        "model": "local-text",
        "deployment": "local",
        "status": 200,
        "prompt_tokens": 12,
        "completion_tokens": 40,
        "latency_ms": 12.34,
        "ttft_ms": 2.0,
        "user": "full",
        "key_id": "key_01",
    }


def test_access_line_of_a_refused_request_in_text() -> None:
    stream = configured("text", level="info")
    AccessLog().request_finished(
        request_id="chatcmpl-x",
        door="openai",
        model=OPENAI_KEY,  # a client that pastes its key as the model name
        deployment=None,
        status=429,
        latency_s=0.0004,
        error_code="rate_limit_exceeded",
    )
    line = stream.getvalue().strip()
    assert "continuum.access: request request_id=chatcmpl-x door=openai" in line
    assert "status=429" in line and "error_code=rate_limit_exceeded" in line
    assert "deployment=null" in line and "ttft_ms" not in line
    assert OPENAI_KEY not in line and "model=[redacted]" in line


def test_access_log_off_writes_nothing() -> None:
    stream = configured("json", level="warning")
    AccessLog().request_finished(
        request_id="r", door="openai", model="m", deployment="d", status=200, latency_s=0.1
    )
    AccessLog(enabled=False).request_finished(
        request_id="r", door="openai", model="m", deployment="d", status=200, latency_s=0.1
    )
    logging.getLogger().setLevel(logging.INFO)
    AccessLog(enabled=False).request_finished(
        request_id="r", door="openai", model="m", deployment="d", status=200, latency_s=0.1
    )
    assert stream.getvalue() == ""
