"""The Prometheus series of a gateway, and their buckets (see ``metrics.py``)."""

from __future__ import annotations

from math import inf

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, inf)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, inf)
NO_DEPLOYMENT = "none"


class Series:
    """The prometheus-client metric objects, registered on one registry."""

    def __init__(self, registry: CollectorRegistry):
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"continuum_{name}", doc, labels, registry=registry)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(
                f"continuum_{name}", doc, labels, registry=registry, multiprocess_mode="livesum"
            )

        where = ("door", "model", "deployment")
        self.requests = counter("requests", "Requests finished.", *where, "status")
        self.latency = Histogram(
            "continuum_request_duration_seconds",
            "Time from a request's arrival to its last byte.",
            where,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.ttft = Histogram(
            "continuum_time_to_first_token_seconds",
            "Time from a request's arrival to its first generated token.",
            where,
            registry=registry,
            buckets=TTFT_BUCKETS,
        )
        self.prompt_tokens = counter("prompt_tokens", "Prompt tokens (in).", *where)
        self.completion_tokens = counter("completion_tokens", "Completion tokens (out).", *where)
        self.rate_limited = counter(
            "rate_limited", "Requests refused by a rate limit.", "door", "model"
        )
        self.upstream_errors = counter(
            "upstream_errors", "Failed upstream attempts.", "deployment", "code"
        )
        self.upstream_retries = counter("upstream_retries", "Upstream retries.", "deployment")
        self.fallbacks = counter(
            "fallbacks",
            "Requests moved to another deployment.",
            "model",
            "from_deployment",
            "to_deployment",
        )
        self.cooldowns = counter("cooldowns", "Deployments put in cooldown.", "deployment")
        self.open_streams = gauge("open_streams", "Streaming responses in progress.", "door")
        self.websockets = gauge("websocket_connections", "Open WebSocket connections.", "door")
        self.tcp = gauge("tcp_connections", "Open Continuum TCP protocol connections.")
        self.sessions = gauge("stream_sessions", "Stream sessions generating in this server.")
        self.ledger_backlog = gauge("ledger_backlog", "Usage records queued, not yet written.")
        self.ledger_failures = counter(
            "ledger_write_failures", "Usage-ledger writes that failed (their records wait)."
        )
        self.ledger_dropped = counter(
            "ledger_dropped_records", "Usage records given up when the backlog overflowed."
        )
        self.ledger_rejected = counter(
            "ledger_rejected_records",
            "Usage records the database refused even cut to fit (kept in the dead-letter file).",
        )
        self.ledger_unjournaled = counter(
            "ledger_journal_failures", "Usage records that could not be written to the journal."
        )
