"""Table definitions, shared by SQLite and PostgreSQL (SQLAlchemy Core, no ORM)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_version = Table(
    "continuum_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied", Float, nullable=False),
)

usage = Table(
    "continuum_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("key_id", String(64)),
    Column("model", String(256), nullable=False),
    Column("deployment", String(512)),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("status", Integer, nullable=False),
    Column("error_code", String(64)),
    Column("created", Float, nullable=False),
    Column("day", String(10), nullable=False),  # UTC date, for portable grouping
    Column("door", String(32)),  # which door served it (http, ws, tcp, ...); migration 2
    # "<ledger origin>-<seq>": unique, so a record replayed from a journal is written once.
    Column("entry", String(48)),  # migration 5
    Index("continuum_usage_user_day", "user_id", "day"),
    Index("continuum_usage_entry", "entry", unique=True),
)

api_keys = Table(
    "continuum_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),  # sha256 of the key, never the key
    Column("name", String(256), nullable=False),
    Column("owner", String(256), nullable=False),
    Column("permissions", Text),  # JSON list of model ids; NULL: every model
    Column("rate_limit", Text, nullable=False),  # JSON list of limit strings
    Column("admin", Integer, nullable=False, default=0),
    Column("created", Float, nullable=False),
    Column("expires", Float),
    Column("revoked", Float),
)

# Uploaded files (continuum/files). A row is listed only once its contents are complete:
# status "processed". "uploading" rows belong to an upload still in progress (or one that
# died, swept at start once ``touched`` is old).
files = Table(
    "continuum_files",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(256), nullable=False),
    Column("filename", Text, nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("created", Float, nullable=False),  # unix time with microseconds: the list order
    Column("expires", Float),
    Column("status", String(16), nullable=False),
    Column("touched", Float, nullable=False),  # last progress of an upload
    Index("continuum_files_owner_created", "owner", "created", "id"),
)

# File contents kept in the database itself (the PostgreSQL backend): ordered chunks.
file_chunks = Table(
    "continuum_file_chunks",
    metadata,
    Column("file_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# Stored Responses (``POST /v1/responses`` with ``store``), owned by the key that made
# them. ``body`` is the Response object as answered; ``input`` the whole conversation
# that went in (earlier turns' input and output, then this request's own items), so a
# follow-up reads one row whatever the chain's length.
responses = Table(
    "continuum_responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(256), nullable=False),
    Column("created", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("body", Text, nullable=False),  # JSON: the Response object
    Column("input", Text, nullable=False),  # JSON: the input items (ItemResource objects)
)

# Completion callbacks of durable streams (continuum/sessions/callbacks/sql.py).
callbacks = Table(
    "continuum_callbacks",
    metadata,
    Column("id", String(80), primary_key=True),  # msg_<stream id>: one per stream
    Column("session_id", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the callback's fields
    Column("state", String(16), nullable=False),  # pending | delivered | exhausted
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float),  # due time, or the end of the lease while claimed
    Column("lease", String(64)),  # the token of the claim holding it
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Index("continuum_callbacks_due", "state", "next_at"),
)
