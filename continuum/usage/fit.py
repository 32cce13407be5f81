"""Cutting a usage record to what the ledger's columns hold, so one odd record cannot fail a batch.

The doors already bound what they accept (model ids, user names); this is the last
line: a record from any door, an upstream that reports 2^40 tokens, a deployment name
with a long URL, text with NUL characters (which PostgreSQL refuses) or that is not
valid UTF-8. Widths follow ``store/tables.py``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from continuum.core.ports import UsageRecord

WIDTHS = {
    "request_id": 64,
    "user_id": 256,
    "key_id": 64,
    "model": 256,
    "deployment": 512,
    "error_code": 64,
    "door": 32,
}
INT_FIELDS = ("prompt_tokens", "completion_tokens", "status")
INT_MAX = 2**31 - 1  # the columns are INTEGER
COLUMNS = tuple(f.name for f in fields(UsageRecord) if f.name != "seq")


def _text(value: str, width: int) -> str:
    if not value.isascii():
        # Lone surrogates cannot be encoded; the database would refuse the whole batch.
        value = value.encode("utf-8", "replace").decode("utf-8")
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:width]


def fit(record: UsageRecord) -> tuple[dict[str, Any], bool]:
    """The record as a row of ``continuum_usage`` (without ``day``/``entry``), and whether
    anything had to be cut or replaced to fit."""
    row = {name: getattr(record, name) for name in COLUMNS}
    changed = False
    for name, width in WIDTHS.items():
        value = row[name]
        if value is None:
            continue
        fitted = _text(str(value), width)
        if fitted != value:
            row[name] = fitted
            changed = True
    for name in INT_FIELDS:
        value = row[name]
        bounded = min(max(int(value), 0), INT_MAX)
        if bounded != value:
            row[name] = bounded
            changed = True
    return row, changed
