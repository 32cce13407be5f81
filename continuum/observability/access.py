"""The access log: one line per finished request, on the ``continuum.access`` logger.

    access.request_finished(request_id="chatcmpl-…", door="openai", model="local-text",
                            deployment="local", status=200, latency_s=0.012, ttft_s=0.002,
                            prompt_tokens=12, completion_tokens=40, user="alice")

writes (JSON): ``{"ts": …, "level": "info", "logger": "continuum.access", "msg":
"request", "request_id": "chatcmpl-…", "door": "openai", "model": "local-text",
"deployment": "local", "status": 200, "prompt_tokens": 12, "completion_tokens": 40,
"latency_ms": 12.0, "ttft_ms": 2.0, "user": "alice"}`` (``ttft_ms``, ``user``,
``key_id`` and ``error_code`` only when known). The request id is the one the client saw
in ``x-request-id``. Nothing of the request's content is ever a field.
"""

from __future__ import annotations

import logging

from continuum.observability.redaction import Redactor

ACCESS_LOGGER = "continuum.access"


class AccessLog:
    """Writes the access line; does nothing (not even build the record) when disabled.

    Of its fields only ``model`` and ``user`` can come from a client; the line redacts
    those itself with ``redactor`` (give it the one ``configure_logging`` got) and marks
    the record done, so the handler's filter does not rescan the fields the gateway
    made (bench/access_log_cost.py).
    """

    def __init__(
        self,
        redactor: Redactor | None = None,
        *,
        logger: logging.Logger | None = None,
        enabled: bool = True,
    ):
        self._redactor = redactor or Redactor()
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)
        self.enabled = enabled

    def request_finished(
        self,
        *,
        request_id: str,
        door: str,
        model: str,
        deployment: str | None,
        status: int,
        latency_s: float,
        ttft_s: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        user: str | None = None,
        key_id: str | None = None,
        error_code: str | None = None,
    ) -> None:
        """Log one finished request (any status)."""
        logger = self._logger
        if not self.enabled or not logger.isEnabledFor(logging.INFO):
            return
        redact = self._redactor.text
        fields: dict[str, object] = {
            "request_id": request_id,
            "door": door,
            "model": redact(model),
            "deployment": deployment,
            "status": status,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "latency_ms": round(latency_s * 1000, 2),
        }
        # Optional fields only when known, so text lines stay short.
        if ttft_s is not None:
            fields["ttft_ms"] = round(ttft_s * 1000, 2)
        if user is not None:
            fields["user"] = redact(user)
        if key_id is not None:
            fields["key_id"] = key_id
        if error_code is not None:
            fields["error_code"] = error_code
        # makeRecord + handle is logger.info without the caller lookup (a stack walk),
        # which says nothing useful about an access line.
        record = logger.makeRecord(
            logger.name, logging.INFO, "", 0, "request", (), None, extra=fields
        )
        record._continuum_redacted = True
        record._continuum_fields = fields  # saves the formatter a search for the extras
        logger.handle(record)
