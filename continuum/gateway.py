"""The gateway object: every service one process serves with, and their lifecycle.

``app.build_gateway`` makes it from settings; whoever owns the process (the CLI, or the
ASGI lifespan when the app runs alone) enters it once, and every listener — the HTTP
app, the TCP server — is handed the same running gateway:

    async with gateway:            # migrate the database, sweep the file store, start the ledger
        ...serve...
                                   # on exit: flush the ledger, close pools and stores
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from continuum.agents.service import AgentService
from continuum.auth.store import KeyStore
from continuum.auth.validator import Validator
from continuum.config.reload import Reloader
from continuum.core.clock import Clock, SystemClock
from continuum.core.context import Principal
from continuum.core.pipeline import Pipeline
from continuum.core.ports import Limiter
from continuum.dialects.simple.service import SimpleApi
from continuum.files.store import FileStore
from continuum.observability.metrics import Metrics
from continuum.observability.redaction import Redactor
from continuum.providers.base import Provider
from continuum.responses.store import ResponseStore
from continuum.sessions import MemorySessionStore, SessionStore
from continuum.sessions.callbacks.worker import DeliveryWorker
from continuum.sessions.generation import Generations
from continuum.sessions.streams import StreamSessions
from continuum.settings import Settings
from continuum.store.database import Database
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore

if TYPE_CHECKING:
    from continuum.config.served import Served


@dataclass(slots=True)
class Gateway:
    """Everything one process serves with, built from settings (see ``app.build_gateway``)."""

    settings: Settings
    pipeline: Pipeline
    providers: dict[str, Provider]
    sample_key: str | None
    limiter: Limiter
    database: Database
    ledger: BatchingLedger
    usage: UsageStore
    keys: KeyStore
    validate_user: Validator
    files: FileStore
    agents: AgentService  # agents.yml: run by the agent routes, served as agent/<name>
    responses: ResponseStore
    simple: SimpleApi = field(default_factory=lambda: SimpleApi(None))  # seed 001's prompt API
    clock: Clock = field(default_factory=SystemClock)  # the one the services were built with
    # The Prometheus series (GET /metrics) and what logs must never show (the keys).
    metrics: Metrics = field(default_factory=Metrics)
    redactor: Redactor = field(default_factory=Redactor)
    # Durable stream sessions (seeds 002, 003) and the worker posting their callbacks
    # (None without a webhook secret: nothing to sign them with).
    sessions: SessionStore = field(default_factory=MemorySessionStore)
    callbacks: DeliveryWorker | None = None
    generations: Generations = field(init=False, repr=False)  # sessions generated here
    # users.yml's principals by name: an init token's ``sub`` may name one (docs/sessions.md).
    stream_callers: dict[str, Principal] = field(default_factory=dict, repr=False)
    streams: StreamSessions = field(init=False, repr=False)  # /init-stream, /stream/{id}
    # Reloads the config directory (SIGHUP, CONTINUUM_CONFIG_WATCH); set by build_gateway.
    reloader: Reloader | None = None
    _entered: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        wake = self.callbacks.wake if self.callbacks is not None else None
        self.generations = Generations(
            self.sessions,
            wake=wake,
            opened=self.metrics.session_opened,
            closed=self.metrics.session_closed,
        )
        self.streams = StreamSessions(
            self.settings.sessions,
            self.pipeline,
            self.sessions,
            self.generations,
            self.stream_callers,
            default_model=lambda: self.simple.model,
            callbacks=self.callbacks is not None,
        )

    async def start(self) -> None:
        await self.database.migrate()
        await self.files.start()  # after the tables exist: it sweeps dead uploads
        await self.ledger.start()  # writes what dead processes journaled, then runs
        ledger = self.ledger
        self.metrics.watch_ledger(
            lambda: ledger.backlog,  # read at each scrape, never per request
            lambda: ledger.write_failures,
            lambda: ledger.dropped,
            lambda: ledger.rejected,
            lambda: ledger.journal_failures,
        )
        await self.metrics.start()
        if self.callbacks is not None:
            self.callbacks.start()  # picks up deliveries a dead process left due
        if self.reloader is not None and self.settings.config_watch:
            self.reloader.start_watching()

    def reconfigure(self, served: Served, providers: dict[str, Provider]) -> None:
        """Serve ``served`` from now on, with ``providers`` (new provider types it uses)
        added to the running ones.

        One synchronous step: no request of this process sees half of it. A request
        already running keeps the route, principal and agents it started with; the
        providers it streams from are never closed under it (they are shared, and only
        added to, until the gateway closes).
        """
        self.providers.update(providers)  # the router reads this same mapping
        self.redactor.learn(token for token, _ in served.files.users)  # new keys stay out of logs
        self.pipeline.reconfigure(served.authenticator, served.table)
        self.stream_callers.clear()  # the dict StreamSessions reads: updated in place
        self.stream_callers.update(served.files.callers())
        self.agents = served.agents
        self.simple = served.simple
        self.sample_key = served.files.sample_key

    async def aclose(self) -> None:
        if self.reloader is not None:
            await self.reloader.stop()
        await self.generations.aclose()  # their sessions end Failed: readers learn it
        if self.callbacks is not None:
            await self.callbacks.stop()  # an unfinished delivery stays leased, then retried
        await self.sessions.aclose()
        await self.ledger.close()  # flush: a clean shutdown loses no usage record
        await self.metrics.aclose()  # after the ledger: its last counts are published
        for provider in self.providers.values():
            await provider.aclose()
        await self.limiter.aclose()
        await self.files.aclose()  # waits for uploads being committed
        await self.database.close()

    async def __aenter__(self) -> Gateway:
        # Re-entrant: a listener that enters a gateway someone else already runs is a no-op.
        if self._entered == 0:
            await self.start()
        self._entered += 1
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._entered -= 1
        if self._entered == 0:
            await self.aclose()
