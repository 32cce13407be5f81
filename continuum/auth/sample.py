"""The sample credential of the embedded default: made at first start, kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from continuum.core.context import Principal
from continuum.store.private import private_dir

FILE_NAME = "sample-key"
PRINCIPAL = Principal(id="local-developer", name="Local developer", key_id="sample-key")


def sample_key(data_dir: Path) -> str:
    """Read the stored sample key, creating it (mode 0600) on first use."""
    path = data_dir / FILE_NAME
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    private_dir(data_dir)
    key = "ck-" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
