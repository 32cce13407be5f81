"""Structured logs: JSON lines in production, readable lines in development.

``configure_logging`` is called once per process (by the serving command, in each
worker) with plain values; it installs one handler on the root logger that every
Continuum and uvicorn logger reaches, with the redaction filter in front of its
formatter. Calling it again replaces that handler, so tests may call it freely.

    configure_logging("info", fmt="json", redactor=Redactor([admin_key, *user_keys]))

uvicorn must then be started with ``log_config=None`` so it does not install handlers
of its own.

A JSON line: ``{"ts": "2025-01-31T12:00:00.123Z", "level": "info", "logger": "…",
"msg": "…", <extra fields>, "exc": "<traceback>"}``. A text line: ``12:00:00.123 INFO
logger: msg key=value …`` with any traceback on the lines after.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal, TextIO

import orjson

from continuum.errors import ConfigError
from continuum.observability.redaction import STANDARD_ATTRIBUTES, RedactingFilter, Redactor

HANDLER_NAME = "continuum"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
Format = Literal["json", "text", "auto"]


def parse_level(value: str, source: str = "log level") -> int:
    """``debug`` … ``critical`` in any case (seed 003 writes ``DEBUG``) to a logging level."""
    level = LEVELS.get(value.strip().lower())
    if level is None:
        raise ConfigError(
            "environment",
            source,
            f"{value!r} is not a log level",
            "use one of debug, info, warning, error, critical",
        )
    return level


def level_from(continuum: str | None, gateway: str | None, default: str = "info") -> str:
    """The level to use: ``CONTINUUM_LOG_LEVEL``, else seed 003's ``GATEWAY__LOG_LEVEL``.

    Takes the variables' raw values (``None`` when unset) and returns a lowercase name;
    an invalid value is a ``ConfigError`` naming its variable.
    """
    for source, value in (("CONTINUUM_LOG_LEVEL", continuum), ("GATEWAY__LOG_LEVEL", gateway)):
        if value is not None and value.strip():
            level = parse_level(value, source)
            return logging.getLevelName(level).lower()
    return default


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given through ``extra=``."""
    known: dict[str, Any] | None = getattr(record, "_continuum_fields", None)
    if known is not None:
        return known
    return {
        name: value
        for name, value in record.__dict__.items()
        if name not in STANDARD_ATTRIBUTES and not name.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra`` fields become top-level keys."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._prefix = ""

    def _timestamp(self, created: float) -> str:
        seconds = int(created)
        if seconds != self._second:  # strftime once a second, not once a line
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            self._second = seconds
        return f"{self._prefix}.{int((created - seconds) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            payload.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return orjson.dumps(payload, default=str).decode()


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    if not text or any(c in text for c in ' "=\n'):
        return orjson.dumps(text).decode()
    return text


class TextFormatter(logging.Formatter):
    """``12:00:00.123 INFO  logger: message key=value …`` for a developer's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{clock}.{int(record.msecs):03d} {record.levelname:<5} {record.name}: "
        line += record.getMessage()
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{name}={_show(value)}" for name, value in fields.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def configure_logging(
    level: str = "info",
    *,
    fmt: Format = "auto",
    stream: TextIO | None = None,
    redactor: Redactor | None = None,
) -> logging.Handler:
    """Send every log record of this process, redacted, to ``stream`` (stderr).

    ``fmt="auto"`` writes text to a terminal and JSON otherwise (containers, files,
    log collectors). ``redactor`` defaults to one that knows no literal secrets and
    keeps prompts out. Returns the installed handler.
    """
    stream = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(redactor or Redactor()))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    # uvicorn's loggers would otherwise write through handlers of their own, unredacted.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    return handler
