"""What a durable stream session is: its description, its cursor and the entries of its log.

A session's log is a run of text pieces ended by one terminal entry (``Done`` or
``Failed``). Every entry has an offset, 1, 2, 3…, and the session an epoch, a random
token fixed when its buffer is made. A ``Cursor`` (epoch + offset, written
``"<epoch>-<offset>"``, usable as an SSE ``id``) names the last entry a reader got;
reading resumes strictly after it. A cursor of another epoch is stale by
construction: it can never be mistaken for a position in this buffer.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal, TypeAlias

from continuum.errors import InvalidRequest

State: TypeAlias = Literal["pending", "running", "done", "failed", "expired"]
ENDED: frozenset[str] = frozenset({"done", "failed"})

_CURSOR = re.compile(r"([0-9a-f]{8,32})-(0|[1-9][0-9]{0,17})")


def check_chat_id(chat_id: str) -> None:
    """Chat session ids come from clients (``/ws/{session_id}``): keep them bounded."""
    if not chat_id or len(chat_id) > 256:
        raise InvalidRequest("a chat session id must be 1 to 256 characters", param="session_id")


def new_epoch() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in one buffer: after entry ``offset`` of epoch ``epoch`` (0: before all)."""

    epoch: str
    offset: int

    def __str__(self) -> str:
        return f"{self.epoch}-{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Parse ``"<epoch>-<offset>"``; raises ``ValueError`` on anything else."""
        match = _CURSOR.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"not a stream cursor: {text[:80]!r}")
        return cls(match.group(1), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """What ``/init-stream`` (or a WebSocket turn) asks for; stored with the session."""

    owner: str  # the authenticated caller (usage and limits count against it)
    prompt: str
    model: str
    max_tokens: int | None = None
    user_id: str | None = None  # the body's userId, echoed in the callback
    chat_id: str | None = None  # the body's chatId, echoed in the callback
    resume_url: str | None = None  # where the completion callback goes; None: no callback
    conversation: str | None = None  # a chat session whose history receives the answer


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as stored: its spec, state, epoch and the offset of its last entry."""

    id: str
    spec: SessionSpec
    state: State
    epoch: str
    head: int  # offset of the last entry (0: none yet)
    created: float  # seconds, by the backend's clock

    @property
    def start(self) -> Cursor:
        """The cursor before the first entry: reading from it replays everything."""
        return Cursor(self.epoch, 0)

    @property
    def ended(self) -> bool:
        return self.state in ENDED


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of generated text (it may contain newlines, or be any Unicode)."""

    cursor: Cursor
    text: str


@dataclass(frozen=True, slots=True)
class Done:
    """The generation finished; the log ends here."""

    cursor: Cursor
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Failed:
    """The generation failed (or its producer died); the log ends here."""

    cursor: Cursor
    message: str
    code: str


@dataclass(frozen=True, slots=True)
class Reset:
    """The reader's cursor cannot be honoured; reading ends here.

    ``reason``: ``invalid_cursor`` (garbage), ``stale_epoch`` (another buffer),
    ``ahead`` (an offset past the end), ``expired`` (unknown, expired or gone).
    ``restart`` is where a full replay can start, when the session still exists.
    """

    reason: str
    message: str
    restart: Cursor | None = None


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing happened for the reader's ``idle`` seconds: time for a heartbeat comment."""


Entry: TypeAlias = Piece | Done | Failed
Terminal: TypeAlias = Done | Failed
Outcome: TypeAlias = Piece | Done | Failed | Reset | Idle


@dataclass(frozen=True, slots=True)
class Timings:
    """How long things live, in seconds. Every backend takes one of these.

    ``pending_ttl``: a session nobody started expires (seed 002: 60 s).
    ``retention``: an ended session stays readable this long (OpenAI keeps 10 min).
    ``running_ttl``: the longest a running session's keys live without a heartbeat
    extending them (a safety net; liveness is ``lease``).
    ``lease``: a producer silent this long is dead; its readers get ``producer_lost``.
    ``check``: how often a waiting reader looks at the producer's lease and the clock.
    ``chat_ttl``: a chat session's history lives this long after its last turn.
    ``max_entries``: a log longer than this ends with ``buffer_full`` (memory bound).
    """

    pending_ttl: float = 60.0
    retention: float = 600.0
    running_ttl: float = 3600.0
    lease: float = 5.0
    check: float = 1.0
    chat_ttl: float = 86400.0
    max_entries: int = 100_000

    def __post_init__(self) -> None:
        for name in ("pending_ttl", "retention", "running_ttl", "lease", "check", "chat_ttl"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Timings.{name} must be positive")
        if self.max_entries < 1:
            raise ValueError("Timings.max_entries must be at least 1")


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat session's history."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A chat session (seed 003's ``/ws/{session_id}``): its owner, the stream of its
    current or last turn, and the cursor last delivered to a client of it."""

    id: str
    owner: str
    turn: str | None = None
    delivered: str | None = None
