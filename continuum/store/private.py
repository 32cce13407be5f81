"""Files and directories of the data dir, readable by the gateway's user only.

The data dir holds the sample key, the SQLite database (usage, keys), the usage journal
and uploaded files: directories are made 0700 and files 0600, whatever the umask.
(``continuum serve`` also sets the umask to 077, for files that libraries create.)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) made if missing, 0700."""
    if not path.is_dir():
        for parent in reversed(path.parents):
            if not parent.exists():
                parent.mkdir(mode=0o700, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty, 0600, if missing (so a library opening it later keeps the mode)."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path
