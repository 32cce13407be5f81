"""Metrics that add up across ``--workers N``: prometheus-client's multiprocess mode.

Each worker process writes its series to memory-mapped files named by its pid in one
directory; a scrape of any worker reads every file and sums them. prometheus-client
picks the mode when it is first imported, from ``PROMETHEUS_MULTIPROC_DIR``, so the
serving command must prepare the directory and put it in the environment *before* the
workers start:

    directory = multiprocess.prepare_directory(settings.data_dir)
    os.environ.update(multiprocess.environment(directory))
    uvicorn.run(..., workers=settings.workers)          # workers are spawned afterwards

and each worker builds ``Metrics(multiprocess_dir=directory)``.

Gauges of connections and streams are summed over *live* processes only: a worker that
stops cleanly removes its live gauges (``Metrics.aclose``), and a scrape drops those of
workers that died without doing so. Counters and histograms of dead workers are kept,
so totals never go backwards while the server runs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from continuum.store.private import private_dir

# prometheus-client's multiprocess module carries no annotations.
_collector: Callable[[CollectorRegistry, str], object] = MultiProcessCollector
_mark_dead: Callable[[int, str], None] = mark_process_dead

ENV = "PROMETHEUS_MULTIPROC_DIR"


def is_enabled() -> bool:
    """Whether prometheus-client in this process writes its values to shared files."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def prepare_directory(data_dir: Path) -> Path:
    """An empty directory for the workers of this server: ``<data_dir>/metrics/<pid>``.

    Called once by the parent process before its workers start. Directories left by
    servers that are no longer running are removed; another server running on the same
    data directory keeps its own.
    """
    root = data_dir / "metrics"
    private_dir(root)
    for child in root.iterdir():
        if child.is_dir() and child.name.isdigit() and not pid_alive(int(child.name)):
            shutil.rmtree(child, ignore_errors=True)
    directory = root / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)  # a previous server with our pid
    directory.mkdir(mode=0o700)
    return directory


def environment(directory: Path) -> dict[str, str]:
    """The variables the worker processes need to write into ``directory``."""
    return {ENV: str(directory)}


def prune_dead(directory: Path) -> None:
    """Drop the live gauges of worker processes that died without cleaning up."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            _mark_dead(int(pid), str(directory))


def collect(directory: Path) -> bytes:
    """The text exposition of every worker's series in ``directory``, summed."""
    prune_dead(directory)
    registry = CollectorRegistry(auto_describe=False)
    _collector(registry, str(directory))
    return generate_latest(registry)


def forget(pid: int, directory: Path) -> None:
    """Remove ``pid``'s live gauges (its counters stay in the totals)."""
    _mark_dead(pid, str(directory))
