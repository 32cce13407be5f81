"""Progress of a long command on stderr, only when stderr is a terminal.

Scripts and pipes read stdout, which stays clean; a person at a terminal sees a line
redrawn in place (``\\r``) and erased when the work ends.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO


class Progress:
    """``with Progress("migrating", total=6) as progress: progress.step("v3")``."""

    def __init__(self, what: str, total: int | None = None, stream: TextIO | None = None):
        self._what = what
        self._total = total
        self._done = 0
        self._stream = stream or sys.stderr
        self._shown = self._stream.isatty()
        self._width = 0

    def step(self, detail: str = "", advance: int = 1) -> None:
        self._done += advance
        if not self._shown:
            return
        count = f"{self._done}/{self._total}" if self._total else str(self._done)
        line = f"{self._what}: {count} {detail}".rstrip()
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._shown and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
