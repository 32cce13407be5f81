"""The fake upstream server: a flavour's routes behind the fast HTTP server, with faults."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import orjson

from continuum.testing.fake_upstream.answers import Turn
from continuum.testing.fake_upstream.faults import HEADER, Fault, split_model
from continuum.testing.fake_upstream.http import (
    HttpApp,
    Reply,
    bound_port,
    close_server,
    start_server,
)
from continuum.testing.fake_upstream.record import Recorder, SeenRequest

log = logging.getLogger("continuum.testing.fake")

Route = Callable[["FakeUpstream", SeenRequest, Fault], Reply]


class Flavor:
    """One provider's wire protocol: its routes and its error body."""

    name = "flavor"
    routes: Mapping[tuple[str, str], Route] = {}

    def error(self, status: int, message: str) -> Reply:
        raise NotImplementedError

    def authorized(self, request: SeenRequest, key: str) -> bool:
        """Whether ``request`` carries ``key`` the way this provider expects."""
        return True


class FakeUpstream(HttpApp):
    """A protocol-faithful fake of one provider on a real socket.

    ``chunks`` fixes the number of content chunks per answer (default: one per word of
    the last user message); ``chunk_delay`` paces every streamed chunk; ``fault`` applies
    to every request. Everything received is in ``recorder``.
    """

    def __init__(
        self,
        flavor: Flavor,
        *,
        chunks: int | None = None,
        chunk_delay: float | None = None,
        fault: Fault | None = None,
        models: tuple[str, ...] = ("fake-model",),
        api_key: str | None = None,
    ):
        self.flavor = flavor
        self.fault = Fault(chunks=chunks, chunk_delay=chunk_delay).merge(fault)
        self.models = models
        self.api_key = api_key  # when set, requests must carry it (else 401)
        self.recorder = Recorder()
        self.live = set()
        self._script: deque[Fault] = deque()
        self._turns: deque[Turn] = deque()
        self._lock = threading.Lock()

    def script(self, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to each of the next ``times`` requests (then behave normally)."""
        with self._lock:
            self._script.extend([fault] * times)

    def script_turns(self, *turns: Turn) -> None:
        """Answer the next chat requests with ``turns``, in order (then answer as usual).

        A ``Turn`` is text and tool calls (``answers.says``, ``answers.calls``): what a
        model would write at that step of an agent's loop.
        """
        with self._lock:
            self._turns.extend(turns)

    def next_turn(self) -> Turn | None:
        """The scripted answer of this chat request, if any is left."""
        with self._lock:
            return self._turns.popleft() if self._turns else None

    def answer(self, request: SeenRequest) -> tuple[Reply, Fault]:
        fault = self.fault
        with self._lock:
            if self._script:
                fault = fault.merge(self._script.popleft())
        try:
            header = request.headers.get(HEADER)
            if header:
                fault = fault.merge(Fault.parse(header))
            body = request.json() if request.method == "POST" else None
            if isinstance(body, dict) and isinstance(body.get("model"), str):
                _, model_fault = split_model(body["model"])
                fault = fault.merge(model_fault)
        except (ValueError, orjson.JSONDecodeError) as error:
            return self.flavor.error(400, f"bad request: {error}"), Fault()
        if self.api_key is not None and not self.flavor.authorized(request, self.api_key):
            return self.flavor.error(401, "Incorrect API key provided"), fault
        if fault.status is not None and fault.status >= 400:
            return self.flavor.error(fault.status, f"injected fault: status {fault.status}"), fault
        route = self.flavor.routes.get((request.method, request.path))
        if route is None:
            return self.flavor.error(404, f"no route {request.method} {request.path}"), fault
        try:
            return route(self, request, fault), fault
        except Exception as error:
            # A request the fake cannot handle gets a readable 500, never an empty 400
            # from the parser (a fake bug must look like one).
            log.exception("fake %s upstream failed on %s", self.flavor.name, request.path)
            return self.flavor.error(500, f"the fake upstream failed: {error!r}"), Fault()

    @contextmanager
    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a real socket in a daemon thread; yields the base URL (no path)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        box: dict[str, asyncio.Server] = {}

        async def boot() -> None:
            box["server"] = await start_server(self, host, port)
            started.set()

        thread = threading.Thread(target=loop.run_forever, name=f"fake-{self.flavor.name}")
        thread.daemon = True
        thread.start()
        asyncio.run_coroutine_threadsafe(boot(), loop).result(timeout=10)
        started.wait(10)
        server = box["server"]
        try:
            yield f"http://{host}:{bound_port(server)}"
        finally:
            asyncio.run_coroutine_threadsafe(close_server(server, self), loop).result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        """Start serving on the running loop (for benchmarks and the CLI)."""
        return await start_server(self, host, port)
