"""What the prompt API serves: the model behind ``/model``, whom it admits without a key,
and the agents behind ``/agent/{name}``.

The agents are reached through one callable, ``SimpleApi.agents`` (``AgentRuns``): the
gateway is built with ``no_agents``, which knows none, until agents are configured.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from continuum.agents.records import AgentEvent
from continuum.auth.validator import Validator, normalize_user
from continuum.core.context import Principal, RequestContext
from continuum.core.pipeline import Pipeline
from continuum.errors import ModelNotFound, NotFound


class AgentRuns(Protocol):
    """Runs agent ``name`` on ``prompt`` for the caller of ``ctx``.

    The stream keeps the pipeline's rule: a failure before the first event raises from
    the first ``anext`` (``NotFound`` for an agent that does not exist, or that the caller
    may not see; ``PermissionDenied``, ``RateLimited``, upstream errors...), one after it
    is an ``ErrorEvent``, and a run that succeeds ends with ``AgentDone``. Closing the
    generator must cancel the run (its model calls are recorded under ``ctx``'s caller).
    """

    def __call__(
        self, ctx: RequestContext, name: str, prompt: str
    ) -> AsyncGenerator[AgentEvent, None]: ...


async def no_agents(
    ctx: RequestContext, name: str, prompt: str
) -> AsyncGenerator[AgentEvent, None]:
    """The ``AgentRuns`` of a gateway without agents: every name is unknown."""
    raise NotFound(f"Agent '{name}' not found", param="name", code="agent_not_found")
    yield  # an async generator, like every AgentRuns  # pragma: no cover


@dataclass(frozen=True, slots=True)
class SimpleApi:
    """The prompt API's configuration (``Gateway.simple``).

    ``model`` is the default model (``None``: none configured, and ``/model`` says so);
    ``guest`` the principal of callers without a key when anonymous callers are admitted.
    """

    model: str | None
    guest: Principal | None = None
    agents: AgentRuns = no_agents

    def default_model(self) -> str:
        if self.model is None:
            raise ModelNotFound(
                "No model serves this API: set default_model in models.yml or "
                "CONTINUUM_DEFAULT_MODEL",
                code="no_default_model",
            )
        return self.model

    async def open(
        self,
        pipeline: Pipeline,
        credential: str | None,
        *,
        door: str,
        prefix: str,
        client: str | None,
    ) -> RequestContext:
        """Open a request of this API: the caller's key, or, when this API admits callers
        without one and none was given, the guest principal."""
        return await pipeline.open(
            credential, door=door, prefix=prefix, client=client, guest=self.guest
        )

    @staticmethod
    def identify(ctx: RequestContext, validator: Validator, user_id: str | None) -> None:
        """Name the request's end user: ``user_id`` as the user validator has it (403 if
        refused, else maybe normalized). A guest's limits and usage count against it."""
        if user_id is not None:
            ctx.user_id = normalize_user(validator, user_id)
