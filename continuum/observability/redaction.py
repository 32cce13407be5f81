"""Keeping credentials and prompts out of log output.

``RedactingFilter`` runs on every record a Continuum log handler emits, before any
formatter sees it, and rewrites the record in place:

* in all text (the formatted message, exception tracebacks, stack traces, string
  fields): API keys (``sk-…``, ``ck-…`` and the like), ``Bearer``/``Basic``
  credentials, JWTs, ``key=value`` pairs whose name says secret (``api_key=``,
  ``token=``, ``password=``…), any literal secret the gateway knows (the admin key,
  the keys of ``users.yml``), and the ``input_value=…`` that pydantic's validation
  errors quote from a request body (unless prompt logging is enabled);
* in structured values (``extra`` fields, arguments that are dicts or lists): fields
  named like credentials (``authorization``, ``api_key``, ``token``…) entirely, and
  fields named like conversation content (``messages``, ``prompt``, ``content``…)
  unless prompt logging is explicitly enabled.

Free text cannot be told apart from a prompt, so code never puts a prompt in a log
message; structured fields are how request data reaches a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

_PATTERNS = (
    # Provider and Continuum API keys: sk-…, sk-ant-…, ck-…, and similar prefixes.
    r"\b(?:sk|ck|pk|rk)-[A-Za-z0-9][A-Za-z0-9_\-]{6,}",
    # JWTs: base64url of a JSON header ('{"' is "eyJ"), payload and signature.
    r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*",
    # Authorization header values (a few characters at least, so prose like "basic
    # usage" stays readable).
    r"(?i:\bbearer\s+)[A-Za-z0-9._~+/=\-]{6,}",
    r"(?i:\bbasic\s+)[A-Za-z0-9+/=]{8,}",
    # Google-style API keys.
    r"\bAIza[0-9A-Za-z_\-]{20,}",
)
# name=value / "name": "value" pairs whose name says secret.
_PAIR = (
    r"(?i:\b(?P<name>api[_-]?key|x-api-key|access[_-]?token|refresh[_-]?token|token|secret"
    r"|client[_-]?secret|password|passwd|authorization))(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[redacted\])(?P<value>[^\s\"'&,;}\]]+)"
)

# pydantic's validation errors quote the offending input (often a message) this way.
_INPUT_VALUE = r"\binput_value=.*?(?=, input_type=)"

SECRET_FIELDS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "jwt",
        "password",
        "secret",
        "client_secret",
        "credential",
        "cookie",
        "set-cookie",
    }
)
PROMPT_FIELDS = frozenset(
    {
        "messages",
        "prompt",
        "prompts",
        "content",
        "input",
        "instructions",
        "system",
        "text",
        "response",
        "output",
        "arguments",
    }
)

# Attributes every LogRecord has; anything else on a record came from ``extra``.
STANDARD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "taskName",
    }
)


# Words, for looking literal secrets up: split at whitespace, quotes and punctuation.
_TOKENS = re.compile(r"[^\s\"'`=:,;.!?&|/\\()<>\[\]{}*#]+")


def _suspect(value: str) -> bool:
    """Whether ``value`` could hold anything the patterns match (most strings cannot).

    Plain substring tests: on short strings they cost a tenth of one scan by the
    combined regular expression (bench/access_log_cost.py).
    """
    if "-" in value and ("sk-" in value or "ck-" in value or "pk-" in value or "rk-" in value):
        return True
    if "=" in value or ":" in value or "eyJ" in value or "AIza" in value:
        return True
    if " " in value or "\t" in value or "\n" in value:
        lowered = value.lower()
        return "bearer" in lowered or "basic" in lowered
    return False


class Redactor:
    """Removes credentials (always) and prompts (unless ``log_prompts``) from log data.

    ``secrets`` are literal values to remove wherever they appear (shorter than 8
    characters are ignored, so a careless value cannot blank out common words).
    """

    def __init__(self, secrets: Iterable[str] = (), *, log_prompts: bool = False):
        self.log_prompts = log_prompts
        self._secrets: frozenset[str] = frozenset()
        self.learn(secrets)
        self._patterns = re.compile("|".join(_PATTERNS))
        self._pair = re.compile(_PAIR)
        self._input = None if log_prompts else re.compile(_INPUT_VALUE)

    def learn(self, secrets: Iterable[str]) -> None:
        """Remove these values too from now on (a reload's new keys); the old ones stay
        redacted, since lines about requests made with them may still be written."""
        self._secrets = self._secrets | {s for s in secrets if len(s) >= 8}
        literals = sorted(self._secrets, key=len, reverse=True)
        # Literals are found by looking each word of a text up in a set; the few that
        # contain separators cannot be a single word and are searched for directly.
        self._words = frozenset(s for s in literals if _TOKENS.fullmatch(s))
        self._phrases = tuple(s for s in literals if s not in self._words)
        self._literals = re.compile("|".join(re.escape(s) for s in literals)) if literals else None

    def text(self, value: str) -> str:
        """``value`` with every credential (and the inputs pydantic errors quote) redacted."""
        if self._literals is not None and self._has_literal(value):
            value = self._literals.sub(REDACTED, value)
        if not _suspect(value):
            return value
        value = self._patterns.sub(REDACTED, value)
        value = self._pair.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", value)
        if self._input is not None:
            value = self._input.sub(f"input_value={REDACTED}", value)
        return value

    def _has_literal(self, value: str) -> bool:
        if self._words and not self._words.isdisjoint(_TOKENS.findall(value)):
            return True
        return any(phrase in value for phrase in self._phrases)

    def field(self, name: str, value: Any) -> Any:
        """``value`` of a field called ``name``, redacted by name and by content."""
        lowered = name.lower()
        if lowered in SECRET_FIELDS and value:
            return REDACTED
        if lowered in PROMPT_FIELDS and not self.log_prompts and value:
            if isinstance(value, str):
                return f"[redacted prompt, {len(value)} chars]"
            if isinstance(value, list | tuple | dict):
                return f"[redacted prompt, {len(value)} items]"
            return REDACTED
        return self.value(value)

    def value(self, value: Any) -> Any:
        """Any logged value: strings scanned, containers walked, other values kept."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))


class RedactingFilter(logging.Filter):
    """Applies a ``Redactor`` to each record (message, arguments, extras, tracebacks)."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_continuum_redacted", False):
            return True  # already done by another of our handlers
        redact = self.redactor
        record.msg = redact.text(self._message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact.text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact.text(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in STANDARD_ATTRIBUTES and not name.startswith("_"):
                record.__dict__[name] = redact.field(name, value)
        record._continuum_redacted = True
        return True

    def _message(self, record: logging.LogRecord) -> str:
        redact = self.redactor
        msg = record.msg if isinstance(record.msg, str) else str(redact.value(record.msg))
        args = record.args
        if not args:
            return msg
        if isinstance(args, Mapping):
            args = {k: redact.field(str(k), v) for k, v in args.items()}
        else:
            args = tuple(redact.value(a) for a in args)
        try:
            return msg % args
        except (TypeError, ValueError, KeyError):
            return f"{msg} {args!r}"  # a broken format string still logs, still redacted
