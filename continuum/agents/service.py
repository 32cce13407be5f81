"""Agents in the gateway: runs under a caller's context, every model call through the pipeline.

    service = AgentService(config.agents, pipeline, limiter)       # app.build_gateway
    result = await service.run(ctx, "math", "what is 12*(3+4)?")
    async for event in service.stream(ctx, "math", prompt): ...
    pipeline.chat(ctx, ChatRequest(model="agent/math", ...))       # an agent as a model

Each model call of a run goes through ``Pipeline.chat`` under a context derived from
the caller's: the same principal (so the same permissions, limits and ledger subject),
the same door, client and ``user_id``, and its own request id (``<caller's id>-<n>``).
The caller is therefore authorized, limited and charged per model call, exactly as if
it had made them itself. The agent's own ``rate_limit`` holds for whole runs: a run is
one request, and its tokens are the run's total.

Agents are also models: ``routes()`` gives one ``ModelRoute`` per agent
(``agent/<name>``) whose ``serve`` is ``chat``, so every door that goes through the
pipeline serves agents with no code of its own, ``/v1/models`` lists them for callers
allowed to use them, and an agent whose model is another agent runs that one the same way.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence

from continuum.agents.agent import Agent, agent_model_id, agent_name
from continuum.agents.chat import chat_events
from continuum.agents.loop import ModelCall, result_of
from continuum.agents.loop import stream as run_stream
from continuum.agents.records import AgentEvent, AgentResult
from continuum.agents.tools.base import ToolContext
from continuum.core.context import Principal, RequestContext
from continuum.core.events import Event, Usage
from continuum.core.pipeline import DEFAULT_COMPLETION_ESTIMATE, Pipeline
from continuum.core.ports import Limiter
from continuum.core.routes import ModelRoute
from continuum.core.types import ChatRequest, Message, SamplingParams
from continuum.errors import InvalidRequest, NotFound, PermissionDenied, RateLimited


def _missing(name: str) -> NotFound:
    return NotFound(f"Agent '{name:.100}' not found", param="name", code="agent_not_found")


class AgentService:
    """The configured agents, run for callers of any door (see the module docstring)."""

    def __init__(self, agents: Mapping[str, Agent], pipeline: Pipeline, limiter: Limiter):
        self._agents = dict(agents)
        self._pipeline = pipeline
        self._limiter = limiter
        # Whom an agent's own limits count against: the agent, whoever calls it.
        self._holders = {
            name: Principal(id=f"agent:{name}", name=name, limits=agent.rate_limit)
            for name, agent in self._agents.items()
        }

    @property
    def agents(self) -> Mapping[str, Agent]:
        return self._agents

    def find(self, name: str) -> Agent | None:
        """The agent called ``name``, or None."""
        return self._agents.get(name)

    def get(self, name: str) -> Agent:
        """The agent called ``name``; ``NotFound`` (404, ``agent_not_found``) otherwise."""
        agent = self._agents.get(name)
        if agent is None:
            raise _missing(name)
        return agent

    def routes(self) -> list[ModelRoute]:
        """One model route per agent, ``agent/<name>``, served by ``chat``."""
        return [
            ModelRoute(agent.model_id, (), owned_by="continuum", serve=self.chat)
            for agent in self._agents.values()
        ]

    async def run(
        self,
        ctx: RequestContext,
        name: str | Agent,
        prompt: str,
        *,
        history: Sequence[Message] = (),
        params: SamplingParams | None = None,
        context: ToolContext | None = None,
        user: str | None = None,
    ) -> AgentResult:
        """Run agent ``name`` (or an ``Agent``) for the caller of ``ctx`` to its result.

        Raises ``NotFound`` (404 ``agent_not_found``) for an agent that does not exist or
        that the caller may not use (``agent/<name>`` in its permissions),
        ``PermissionDenied`` when a model call is one the caller may not make,
        ``RateLimited`` when the agent's own limit or the caller's refuses, and a model
        call's ``ContinuumError`` when one fails.
        """
        events = self.stream(
            ctx, name, prompt, history=history, params=params, context=context, user=user
        )
        return await result_of(events)

    async def stream(
        self,
        ctx: RequestContext,
        name: str | Agent,
        prompt: str,
        *,
        history: Sequence[Message] = (),
        params: SamplingParams | None = None,
        context: ToolContext | None = None,
        user: str | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """The events of a run (``loop.stream``'s) for the caller of ``ctx``.

        Failures before the first event raise (as ``run`` says); a model call failing
        after it ends the stream with an ``ErrorEvent``. ``user`` goes to the model
        calls as the request's end user; the tools see ``ctx.subject``.
        """
        agent = self.get(name) if isinstance(name, str) else name
        if not ctx.principal.may_use(agent.model_id):
            # As for models, an agent the caller may not use does not exist for it.
            raise _missing(agent.name)
        if not ctx.principal.may_use(agent.model):
            # The caller may use the agent, so it knows of it: say why its calls would fail
            # (the pipeline answers a model a key may not use as if it did not exist).
            raise PermissionDenied(
                f"Your key is not permitted to use the model '{agent.model}', "
                f"which the agent '{agent.name}' calls",
                param="model",
            )
        context = context or ToolContext(agent=agent.name, user=ctx.subject)
        used = [0]
        estimate = len(prompt) // 4 + (
            (params and params.max_tokens) or DEFAULT_COMPLETION_ESTIMATE
        )
        holder = RequestContext(ctx.request_id, self._holders[agent.name], door=ctx.door)
        hold = self._limiter.reserve(holder, estimate)
        try:
            reservation = await hold.__aenter__()
        except RateLimited as error:
            raise RateLimited(
                f"The agent '{agent.name}' is busy: {error.message}",
                retry_after=error.retry_after or 0.0,
                states=error.states,
            ) from None
        events = run_stream(
            agent,
            prompt,
            self._model_call(ctx, used),
            history=history,
            context=context,
            user=user,
            request_id=ctx.request_id,
            params=params,
        )
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()
            reservation.settle(used[0])
            await hold.__aexit__(None, None, None)

    async def chat(self, ctx: RequestContext, request: ChatRequest) -> AsyncGenerator[Event, None]:
        """``agent/<name>`` as a model: the run's answer as text deltas, finish and usage.

        The last message is the prompt and must be the user's; the earlier ones are the
        history. Tools offered in the request are not shown to the agent (it runs its
        own), which is also what lets an agent be another agent's model.
        """
        name = agent_name(request.model)
        agent = self.get(name if name is not None else request.model)
        if request.params.n != 1:
            raise InvalidRequest("An agent gives one answer: 'n' must be 1", param="n")
        last = request.messages[-1] if request.messages else None
        if last is None or last.role != "user":
            raise InvalidRequest(
                f"The model '{agent_model_id(agent.name)}' answers a user message: "
                "the last message must have the role 'user'",
                param="messages",
            )
        events = chat_events(
            self.stream(
                ctx,
                agent,
                last.text,
                history=request.messages[:-1],
                params=request.params,
                user=request.user,
            )
        )
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    def _model_call(self, ctx: RequestContext, used: list[int]) -> ModelCall:
        """The loop's way to a model: ``Pipeline.chat`` as the caller, one id per call."""
        chat = self._pipeline.chat

        async def call(request: ChatRequest) -> AsyncGenerator[Event, None]:
            inner = RequestContext(
                request.request_id, ctx.principal, ctx.door, ctx.client, ctx.user_id
            )
            events = chat(inner, request)
            try:
                async for event in events:
                    if event.__class__ is Usage:
                        used[0] += event.total_tokens
                    if inner.limits:
                        # The caller's limits as its last admitted call left them: the
                        # door's x-ratelimit-* headers.
                        ctx.limits = inner.limits
                    yield event
            finally:
                await events.aclose()

        return call
