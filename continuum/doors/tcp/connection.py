"""One client connection of the TCP server: handshake, frame dispatch, limits, draining.

The bytes are parsed by the sans-IO codec; this module holds the connection's state
machine and drives it from asyncio's ``Protocol`` callbacks. Each request runs in its
own task (``relay.serve``); the connection owns the windows and the output buffer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from continuum.doors.tcp import codec
from continuum.doors.tcp.codec import FrameDecoder, encode_frame
from continuum.doors.tcp.errors import ProtocolError
from continuum.doors.tcp.flow import Window
from continuum.doors.tcp.frames import FLAG_MORE, PREFACE, Frame, FrameType
from continuum.doors.tcp.limits import FLUSH_AT
from continuum.doors.tcp.payloads import Done, ErrorInfo, GoAway, Hello, Welcome
from continuum.doors.tcp.relay import serve
from continuum.doors.tcp.request import CANCELLED, GOING_AWAY, SHUTTING_DOWN, Request
from continuum.errors import ContinuumError

if TYPE_CHECKING:
    from continuum.doors.tcp.server import TcpServer

log = logging.getLogger("continuum.tcp")

HANDSHAKE, AUTHENTICATING, OPEN, DRAINING, CLOSING, CLOSED = range(6)


@dataclass(slots=True)
class ConnectionStats:
    """Live counters of one connection, for tests, metrics and the slow-consumer check.

    ``buffered_bytes`` is what was written and not yet taken by the kernel, measured at
    each flush; ``peak_buffered_bytes`` its highest value so far. ``delta_bytes_sent``
    counts the flow-controlled payload bytes (TEXT and TOOL_CALL) sent.
    """

    peer: str | None = None
    client: str | None = None
    active_requests: int = 0
    requests: int = 0
    delta_bytes_sent: int = 0
    pings_sent: int = 0
    write_paused: bool = False
    buffered_bytes: int = 0
    peak_buffered_bytes: int = 0


class ServerConnection(asyncio.Protocol):
    """The server's side of one TCP connection."""

    def __init__(self, server: TcpServer):
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.stats = ConnectionStats()
        self.identity: object = None
        self.state = HANDSHAKE
        self.frame_size = self.limits.frame_size_for(0)
        self.window = Window(self.limits.initial_connection_window)
        self.requests: dict[int, Request] = {}
        self._decoder = FrameDecoder()
        self._receiving: dict[int, Request] = {}
        self._partial_bytes = 0
        self._last_id = 0
        self._out: list[bytes] = []
        self.unflushed = 0
        self._flush_scheduled = False
        self.paused = False
        self._resumed: asyncio.Future[None] | None = None
        self._stalled: set[Request] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._auth: asyncio.Task[None] | None = None
        self._last_heard = self.loop.time()
        self._unanswered_pings = 0

    # -- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.stats.peer = peer[0] if isinstance(peer, tuple) else None
        self.server.connection_opened(self)
        self._send(PREFACE)
        self._timer = self.loop.call_later(self.limits.handshake_timeout, self._handshake_expired)

    def data_received(self, data: bytes) -> None:
        try:
            self._decoder.feed(data)
            self._process()
        except ProtocolError as error:
            self.fail(ErrorInfo(error.status, error.code, error.message))
        except Exception:  # the door's outermost boundary: log it, close this one connection
            log.exception("TCP connection from %s failed", self.stats.peer)
            self.fail(ErrorInfo(500, "internal_error", "the server failed on this connection"))

    def eof_received(self) -> bool | None:
        return None  # close: a half-closed client can no longer send credit or cancels

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = CLOSED
        if self._timer is not None:
            self._timer.cancel()
        if self._auth is not None:
            self._auth.cancel()
        for request in list(self.requests.values()):
            if request.task is not None:
                request.task.cancel()  # no reason: the task releases and re-raises
        self._receiving.clear()
        self._wake_writers()
        self.server.connection_closed(self)

    def pause_writing(self) -> None:
        self.paused = self.stats.write_paused = True

    def resume_writing(self) -> None:
        self.paused = self.stats.write_paused = False
        self._wake_writers()

    # -- input ------------------------------------------------------------------------

    def _process(self) -> None:
        while self.state in (HANDSHAKE, OPEN, DRAINING):
            frame = self._decoder.next_frame()
            if frame is None:
                return
            self._last_heard = self.loop.time()
            self._unanswered_pings = 0
            if self.state == HANDSHAKE:
                self._on_hello(frame)
            else:
                self._dispatch(frame)

    def _on_hello(self, frame: Frame) -> None:
        if frame.type != FrameType.HELLO or frame.request_id != 0:
            raise ProtocolError("the first frame must be HELLO on request id 0")
        hello = Hello.decode(frame.payload)
        self.stats.client = hello.client
        self.state = AUTHENTICATING
        assert self.transport is not None
        # Frames the client sends meanwhile stay in the decoder (or the socket) until
        # the key is checked; reading stops so that they cannot pile up.
        self.transport.pause_reading()
        self._auth = self.loop.create_task(self._authenticate(hello))

    async def _authenticate(self, hello: Hello) -> None:
        try:
            identity = await self.server.handler.authenticate(hello.key, self.stats.peer)
        except ContinuumError as error:
            self.fail(ErrorInfo.from_error(error))
            return
        except Exception:  # the door's outermost boundary for the key check
            log.exception("TCP authentication failed unexpectedly")
            self.fail(ErrorInfo(500, "internal_error", "the server failed to check the key"))
            return
        if self.state != AUTHENTICATING:
            return
        if self._timer is not None:
            self._timer.cancel()
        self.identity = identity
        self.frame_size = self.limits.frame_size_for(hello.max_frame_size)
        limits = self.limits
        self._send(
            Welcome(
                max_frame_size=self.frame_size,
                max_concurrent_requests=limits.max_concurrent_requests,
                initial_request_window=limits.initial_request_window,
                initial_connection_window=limits.initial_connection_window,
                max_request_bytes=limits.max_request_bytes,
                max_buffered_bytes=limits.max_buffered_bytes,
                ping_interval=limits.ping_interval,
            ).encode()
        )
        self._decoder.max_frame_size = self.frame_size
        self.state = OPEN
        self._schedule_keepalive(self.limits.ping_interval)
        if self.server.draining:
            self.drain()
        assert self.transport is not None
        self.transport.resume_reading()
        self.data_received(b"")  # frames that arrived during the check

    def _dispatch(self, frame: Frame) -> None:
        ftype = frame.type
        if ftype == FrameType.REQUEST:
            self._on_request(frame)
        elif ftype == FrameType.WINDOW_UPDATE:
            self._on_window_update(frame)
        elif ftype == FrameType.CANCEL:
            self._on_cancel(frame)
        elif ftype == FrameType.PING:
            self._require_connection_id(frame)
            self._send(encode_frame(FrameType.PONG, 0, codec.check_ping(frame.payload)))
        elif ftype == FrameType.PONG:
            self._require_connection_id(frame)
            codec.check_ping(frame.payload)
        else:
            raise ProtocolError(f"a client may not send {FrameType(ftype).name} here")

    @staticmethod
    def _require_connection_id(frame: Frame) -> None:
        if frame.request_id != 0:
            raise ProtocolError(f"{FrameType(frame.type).name} must be on request id 0")

    def _on_request(self, frame: Frame) -> None:
        request_id = frame.request_id
        if request_id == 0:
            raise ProtocolError("REQUEST on request id 0")
        more = bool(frame.flags & FLAG_MORE)
        request = self._receiving.get(request_id)
        if request is None:
            if request_id <= self._last_id:
                return  # the rest of a refused, cancelled or finished request's body
            self._last_id = request_id
            if self.state == DRAINING:
                self._send(GOING_AWAY.encode(request_id))
                return
            if len(self.requests) >= self.limits.max_concurrent_requests:
                limit = self.limits.max_concurrent_requests
                refusal = ErrorInfo(
                    429,
                    "too_many_concurrent_requests",
                    f"this connection already has {limit} open requests, the most it may have",
                )
                self._send(refusal.encode(request_id))
                return
            request = Request(request_id, self.limits.initial_request_window)
            self.requests[request_id] = request
            self.stats.active_requests = len(self.requests)
            self.stats.requests += 1
            if more:
                self._receiving[request_id] = request
        piece = frame.payload
        request.size += len(piece)
        if request.size > self.limits.max_request_bytes:
            message = f"the request body exceeds {self.limits.max_request_bytes} bytes"
            self._refuse_body(request, ErrorInfo(413, "payload_too_large", message))
            return
        if more:
            if self._partial_bytes + len(piece) > self.limits.max_partial_request_bytes:
                message = (
                    "request bodies still arriving on this connection exceed "
                    f"{self.limits.max_partial_request_bytes} bytes: send them one at a time"
                )
                self._refuse_body(request, ErrorInfo(413, "payload_too_large", message))
                return
            request.parts.append(piece)
            self._partial_bytes += len(piece)
            return
        if request.parts:
            self._partial_bytes -= request.size - len(piece)
            request.parts.append(piece)
            body = b"".join(request.parts)
            request.parts = []
            del self._receiving[request_id]
        else:
            body = piece
        request.task = self.server.track(self.loop.create_task(serve(self, request, body)))

    def _refuse_body(self, request: Request, outcome: ErrorInfo) -> None:
        """End a request whose body is still arriving; its later pieces will be ignored."""
        if self._receiving.pop(request.id, None) is not None:
            self._partial_bytes -= sum(len(part) for part in request.parts)
        request.parts = []
        self.release(request, outcome)

    def _on_window_update(self, frame: Frame) -> None:
        increment = codec.decode_window_update(frame.payload)
        if frame.request_id == 0:
            self.window.grant(increment)
            for stalled in list(self._stalled):
                self._wake(stalled)
            return
        request = self.requests.get(frame.request_id)
        if request is not None:  # otherwise it crossed the request's end on the wire
            request.window.grant(increment)
            self._wake(request)

    def _on_cancel(self, frame: Frame) -> None:
        if frame.request_id == 0:
            raise ProtocolError("CANCEL on request id 0")
        request = self.requests.get(frame.request_id)
        if request is None:
            return  # it crossed the request's terminal frame on the wire
        if request.task is None:  # its body is still arriving
            self._refuse_body(request, CANCELLED)
            return
        self.cancel(request, CANCELLED)

    def cancel(self, request: Request, reason: ErrorInfo) -> None:
        """Stop a running request; its task closes the generator, then sends ``reason``."""
        if request.cancel_reason is None and not request.closing and request.task is not None:
            request.cancel_reason = reason
            request.task.cancel()

    # -- output -----------------------------------------------------------------------

    def release(self, request: Request, outcome: ErrorInfo | None) -> None:
        """Free the request's slot and send its one terminal frame (DONE or ``outcome``)."""
        if self.requests.pop(request.id, None) is None:
            # A refusal before the slot was taken still has the terminal frame to send.
            if outcome is not None:
                self._send(outcome.encode(request.id))
            return
        self.stats.active_requests = len(self.requests)
        self._stalled.discard(request)
        if outcome is None:
            self._send(Done(tuple(request.finish), request.usage).encode(request.id))
        else:
            self._send(outcome.encode(request.id))
        if self.state == DRAINING and not self.requests:
            self._close_after_flush(None)

    def send_delta(self, frame: bytes, size: int, request: Request) -> None:
        """Send a flow-controlled frame whose payload the caller checked against the windows."""
        request.window.available -= size
        self.window.available -= size
        self.stats.delta_bytes_sent += size
        self._send(frame)

    def push(self, data: bytes) -> None:
        """Queue a frame for the next flush (frames dropped once the connection is closed)."""
        self._out.append(data)
        self.unflushed += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # Frames made in the same turn of the loop leave in one write (see decisions).
            self.loop.call_soon(self._flush)

    def _send(self, data: bytes) -> None:
        if self.state == CLOSED:
            return
        self._out.append(data)
        self.unflushed += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # Frames made in the same turn of the loop leave in one write (see decisions).
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        transport = self.transport
        self.unflushed = 0
        if transport is None or transport.is_closing() or not self._out:
            self._out.clear()
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        transport.write(data)
        buffered = transport.get_write_buffer_size()
        self.stats.buffered_bytes = buffered
        if buffered > self.stats.peak_buffered_bytes:
            self.stats.peak_buffered_bytes = buffered
        if buffered > self.limits.max_buffered_bytes:
            self._slow_consumer(buffered)

    def _slow_consumer(self, buffered: int) -> None:
        log.warning("TCP client %s is a slow consumer (%d bytes unsent)", self.stats.peer, buffered)
        info = ErrorInfo(
            400,
            "slow_consumer",
            f"{buffered} bytes are waiting for this client, over the cap of "
            f"{self.limits.max_buffered_bytes}: read faster",
        )
        assert self.transport is not None
        self.transport.write(info.encode(0))
        self._close_after_flush(self.limits.slow_consumer_grace)

    def _close_after_flush(self, abort_after: float | None) -> None:
        """Close once what is buffered has been sent; reset after ``abort_after`` seconds
        if the client still has not read it."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.state != CLOSED:
            self.state = CLOSING
        self._flush()
        transport.close()
        if abort_after is not None:
            self.loop.call_later(abort_after, transport.abort)

    def fail(self, info: ErrorInfo) -> None:
        """A connection error: ERROR on request id 0, then close."""
        if self.state == CLOSED or self.transport is None or self.transport.is_closing():
            return
        if info.code not in ("invalid_api_key", "handshake_timeout"):
            log.info("TCP connection from %s closed: %s", self.stats.peer, info.message)
        self._send(info.encode(0))
        self._close_after_flush(self.limits.slow_consumer_grace)

    # -- flow control waits -----------------------------------------------------------

    async def writable(self) -> None:
        """Wait while the transport is above its high-water mark.

        A generator that never awaits would otherwise run its request's task for as long
        as it has credit, holding the loop and growing the unflushed frames: past
        ``FLUSH_AT`` bytes they are written now (which may pause writing) and the task
        lets the loop run once.
        """
        if self.unflushed >= FLUSH_AT:
            self._flush()
            await asyncio.sleep(0)
        while self.paused and self.state != CLOSED:
            if self._resumed is None:
                self._resumed = self.loop.create_future()
            await self._resumed

    def _wake_writers(self) -> None:
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)
        self._resumed = None

    async def credit(self, request: Request) -> None:
        """Wait for a WINDOW_UPDATE that may let ``request`` send more."""
        waiter = self.loop.create_future()
        request.waiter = waiter
        self._stalled.add(request)
        try:
            await waiter
        finally:
            request.waiter = None
            self._stalled.discard(request)

    @staticmethod
    def _wake(request: Request) -> None:
        if request.waiter is not None and not request.waiter.done():
            request.waiter.set_result(None)

    # -- timers and draining ----------------------------------------------------------

    def _handshake_expired(self) -> None:
        if self.state in (HANDSHAKE, AUTHENTICATING):
            self.fail(
                ErrorInfo(
                    408,
                    "handshake_timeout",
                    f"no HELLO was accepted within {self.limits.handshake_timeout} s",
                )
            )

    def _schedule_keepalive(self, delay: float | None) -> None:
        if delay is not None:
            self._timer = self.loop.call_later(delay, self._keepalive)

    def _keepalive(self) -> None:
        interval = self.limits.ping_interval
        if self.state == CLOSED or interval is None:
            return
        idle = self.loop.time() - self._last_heard
        if idle < interval:
            self._schedule_keepalive(interval - idle)
            return
        if self._unanswered_pings >= 2:
            self.fail(ErrorInfo(408, "ping_timeout", "the client stopped answering PING"))
            return
        self._unanswered_pings += 1
        self.stats.pings_sent += 1
        self._send(encode_frame(FrameType.PING, 0, self._unanswered_pings.to_bytes(8, "big")))
        self._schedule_keepalive(interval)

    def drain(self) -> None:
        """Start a graceful close: GOAWAY, finish what is open, then close."""
        if self.state in (HANDSHAKE, AUTHENTICATING):
            self.fail(ErrorInfo(503, "shutting_down", "the server is shutting down"))
            return
        if self.state != OPEN:
            return
        self.state = DRAINING
        self._send(GoAway(self._last_id).encode())
        if not self.requests:
            self._close_after_flush(None)

    def shut_down_requests(self) -> None:
        """The drain timeout expired: end every open request with ``shutting_down``."""
        for request in list(self.requests.values()):
            if request.task is None:
                self._refuse_body(request, SHUTTING_DOWN)
            else:
                self.cancel(request, SHUTTING_DOWN)
