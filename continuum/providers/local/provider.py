"""The local provider: deterministic models streamed word by word, with honest usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.errors import ModelNotFound
from continuum.providers.local import tokens
from continuum.providers.local.models import plan

MODELS = ("echo", "text")


def _apply_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class LocalProvider:
    """Serves the upstream models ``echo`` and ``text``.

    Deployment option ``token_delay`` (seconds) paces the stream like a real model.
    """

    name = "local"

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        model = deployment.upstream_model
        if model not in MODELS:
            raise ModelNotFound(
                f"the local provider has no model '{model}' (it has {', '.join(MODELS)})"
            )
        delay = float(deployment.options.get("token_delay", 0.0))
        params = request.params
        completion_tokens = 0
        for choice in range(params.n):
            answer = plan(model, request, choice)
            for index, call in enumerate(answer.calls):
                yield ToolCallDelta(
                    index,
                    id=f"call_{request.request_id[-8:]}{choice}{index}",
                    name=call.name,
                    choice=choice,
                )
                for piece in tokens.tokenize(call.arguments):
                    completion_tokens += 1
                    yield ToolCallDelta(index, arguments=piece, choice=choice)
            if answer.calls:
                yield Finish("tool_calls", choice)
                continue
            text, stopped = _apply_stop(answer.text, params.stop)
            pieces = tokens.tokenize(text)
            reason = "stop"
            if params.max_tokens is not None and len(pieces) > params.max_tokens:
                pieces, reason = pieces[: params.max_tokens], "length"
            for piece in pieces:
                if delay:
                    await asyncio.sleep(delay)
                completion_tokens += 1
                yield TextDelta(piece, choice)
            yield Finish("stop" if stopped else reason, choice)
        yield Usage(tokens.prompt_tokens(request), completion_tokens)

    async def aclose(self) -> None:
        return None
