"""Reloading ``models.yml``, ``users.yml`` and ``agents.yml`` into a running gateway.

On SIGHUP (``listen``: the process owner installs it, the CLI or each worker) and, with
``CONTINUUM_CONFIG_WATCH=true``, when a file's modification time changes (``watch``,
polled every ``CONTINUUM_CONFIG_WATCH_INTERVAL`` seconds), the gateway's ``rebuild``
reads the whole directory again and builds what it serves beside the running one. Only a
configuration that validated completely is swapped in, in one step of the event loop;
a bad one is refused with its message in the log and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from continuum.errors import ConfigError

log = logging.getLogger("continuum.config")


class Reloader:
    """Runs ``rebuild`` (build the next configuration and swap it in, or raise
    ``ConfigError``) on demand, on SIGHUP, or when one of ``paths`` changes."""

    def __init__(self, rebuild: Callable[[], str], paths: tuple[Path, ...], interval: float = 1.0):
        self._rebuild = rebuild
        self._paths = paths
        self._interval = interval
        self._seen = self._stamps()
        self._task: asyncio.Task[None] | None = None
        self.reloads = 0  # configurations swapped in
        self.refused = 0  # configurations refused

    def reload(self) -> bool:
        """Load the configuration again; True when the new one is now served."""
        self._seen = self._stamps()  # a refused file is not retried until it changes again
        try:
            summary = self._rebuild()
        except ConfigError as error:
            self.refused += 1
            log.error("config reload refused, the previous configuration keeps serving: %s", error)
            return False
        except Exception:  # a bug while building: the old configuration must keep serving
            self.refused += 1
            log.exception("config reload failed, the previous configuration keeps serving")
            return False
        self.reloads += 1
        log.info("config reloaded: %s", summary)
        return True

    def listen(self) -> None:
        """Reload on SIGHUP (in the running loop's thread, between two steps of the loop)."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)

    def start_watching(self) -> None:
        if self._task is None and self._paths:
            self._task = asyncio.create_task(self._watch(), name="continuum-config-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _stamps(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for path in self._paths:
            try:
                stat = path.stat()
            except OSError:
                stamps.append(None)  # absent: its appearing is a change too
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self._stamps() != self._seen:
                self.reload()
