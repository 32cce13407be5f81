"""Public model ids and the deployments behind them: what the router reads for each request."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from continuum.core.context import RequestContext
from continuum.core.events import Event
from continuum.core.types import ChatRequest

Serve: TypeAlias = Callable[[RequestContext, ChatRequest], AsyncGenerator[Event, None]]
"""Serves a model in this process with the caller's context (see ``ModelRoute.serve``)."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a model can run: a provider, the name it knows the model by, its options."""

    provider: str
    upstream_model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def name(self) -> str:
        """Unique per upstream: the same model on two servers is two deployments.

        It names the upstream's address, so it belongs in logs and metrics, never in a
        message a client reads (credentials in a ``base_url`` are redacted here anyway).
        """
        base_url = self.options.get("base_url")
        where = f"@{redact_url(str(base_url))}" if base_url else ""
        return f"{self.provider}/{self.upstream_model}{where}"


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """A public model id: the deployments that serve it and the limits of one request."""

    id: str
    deployments: tuple[Deployment, ...]
    owned_by: str = "continuum"
    created: int = 0
    timeout: float | None = None  # the whole request, retries and fallbacks included
    retries: int | None = None  # extra attempts per deployment; None: the router's default
    # A model this process serves itself by making model calls of its own through the
    # pipeline (an agent): the pipeline hands it the caller's context and the request
    # instead of routing it, and leaves limits and usage to those calls, so a caller is
    # neither limited nor charged twice for one answer.
    serve: Serve | None = field(default=None, compare=False, repr=False)


def redact_url(url: str) -> str:
    """``http://user:secret@host/v1`` -> ``http://***@host/v1``: userinfo never leaves."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries userinfo (``user:pass@``) in its authority."""
    _, sep, rest = url.partition("://")
    return bool(sep) and "@" in rest.partition("/")[0]
