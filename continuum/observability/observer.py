"""What the pipeline and the router tell the operator's side: metrics and the access line.

``GatewayObserver`` implements the pipeline's ``RequestObserver`` and the router's
``RouterObserver`` (``continuum/core/ports.py``), so neither imports this package:
``app.build_gateway`` hands one instance to both.

    observer = GatewayObserver(metrics, AccessLog(redactor))
    Pipeline(..., observer=observer); Router(..., observer=observer)

A settled request costs one ``Metrics.request_finished`` (numbers added to a dict entry)
and, when the ``continuum.access`` logger is enabled for info, one access line
(bench/metrics_cost.py, docs/performance.md).
"""

from __future__ import annotations

from continuum.core.ports import UsageRecord
from continuum.observability.access import AccessLog
from continuum.observability.metrics import Metrics

RATE_LIMITED = "rate_limit_exceeded"  # the gateway's own limits (not an upstream's 429)
# A model id the routing table does not know came from the client: as a label value it
# would make a new series for every typo, so such requests share one.
UNKNOWN_MODEL = "unknown"
_UNROUTED = frozenset({"model_not_found"})


class GatewayObserver:
    """Records requests and upstream events into ``metrics`` and writes ``access`` lines."""

    __slots__ = ("access", "metrics")

    def __init__(self, metrics: Metrics, access: AccessLog | None = None):
        self.metrics = metrics
        self.access = access

    # -- RequestObserver -----------------------------------------------------------------

    def stream_opened(self, door: str) -> None:
        self.metrics.stream_opened(door)

    def stream_closed(self, door: str) -> None:
        self.metrics.stream_closed(door)

    def request_settled(self, record: UsageRecord) -> None:
        code = record.error_code
        model = UNKNOWN_MODEL if code in _UNROUTED else record.model
        latency = record.latency_ms / 1000
        ttft = record.ttft_ms / 1000 if record.ttft_ms is not None else None
        metrics = self.metrics
        metrics.request_finished(
            record.door,
            model,
            record.deployment,
            record.status,
            latency,
            ttft,
            record.prompt_tokens,
            record.completion_tokens,
        )
        if code == RATE_LIMITED:
            metrics.rate_limited(record.door, model)
        access = self.access
        if access is not None and access.enabled:
            access.request_finished(
                request_id=record.request_id,
                door=record.door,
                model=record.model,
                deployment=record.deployment,
                status=record.status,
                latency_s=latency,
                ttft_s=ttft,
                prompt_tokens=record.prompt_tokens,
                completion_tokens=record.completion_tokens,
                user=record.user_id,
                key_id=record.key_id,
                error_code=code,
            )

    # -- RouterObserver ------------------------------------------------------------------

    def upstream_failed(self, deployment: str, code: str) -> None:
        self.metrics.upstream_error(deployment, code)

    def upstream_retried(self, deployment: str) -> None:
        self.metrics.upstream_retry(deployment)

    def fell_back(self, model: str, from_deployment: str, to_deployment: str) -> None:
        self.metrics.fallback(model, from_deployment, to_deployment)

    def cooled_down(self, deployment: str) -> None:
        self.metrics.cooldown(deployment)
