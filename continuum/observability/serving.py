"""What a serving process does for its logs and metrics, in two calls for the CLI.

    gateway = build_gateway(settings)
    serving.start_logging(gateway)                        # every process that serves
    os.environ.update(serving.worker_environment(settings))   # before --workers N start

uvicorn is then started with ``log_config=None`` (``UVICORN_LOGGING``), so its loggers
write through the one redacting handler instead of handlers of their own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from continuum.observability import multiprocess
from continuum.observability.logging import Format, configure_logging

if TYPE_CHECKING:
    from continuum.gateway import Gateway
    from continuum.settings import Settings

# uvicorn options: no logging configuration of its own (ours is installed already).
UVICORN_LOGGING: dict[str, Any] = {"log_config": None}
FORMATS: dict[str, Format] = {"auto": "auto", "json": "json", "text": "text"}


def start_logging(gateway: Gateway) -> logging.Handler:
    """Send this process's logs to stderr as the settings ask (level, JSON or text),
    through the gateway's redactor, which knows its keys."""
    settings = gateway.settings
    fmt = FORMATS[settings.log_format]
    return configure_logging(settings.log_level, fmt=fmt, redactor=gateway.redactor)


def worker_environment(settings: Settings) -> dict[str, str]:
    """The variables workers need for their metrics to add up (``--workers`` > 1): an
    emptied ``<data dir>/metrics/<pid>`` directory for prometheus-client's multiprocess
    mode. Call it before the workers start: the library picks its mode at import."""
    if settings.workers <= 1:
        return {}
    return multiprocess.environment(multiprocess.prepare_directory(settings.data_dir))
