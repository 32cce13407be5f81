"""The legacy ``POST /v1/completions``: the request, the ``text_completion`` object and chunks.

Each prompt is one core chat (the prompt is the user's message), so any chat model
answers it. A list of prompts gets ``n`` choices per prompt, numbered prompt by prompt
(prompt ``i``'s choice ``j`` is index ``i * n + j``), as OpenAI numbers them.
``echo`` puts the prompt before the answer. ``logprobs`` is accepted and answered
``null``: no provider behind a chat door gives them.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from continuum.core.events import Event, Finish, TextDelta, Usage
from continuum.core.stream import Completion
from continuum.core.types import ChatRequest, Message, SamplingParams
from continuum.dialects.openai.errors import error_json
from continuum.errors import ContinuumError, SchemaViolation

DONE = b"[DONE]"
# Chat answers may end in tool calls; a text completion knows only these reasons.
_REASONS = {"length": "length", "content_filter": "content_filter"}


def finish_reason(reason: str | None) -> str:
    return _REASONS.get(reason or "", "stop")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool | None = None


class CompletionRequest(BaseModel):
    """Creates a completion for the prompt (OpenAI's legacy ``CreateCompletionRequest``)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=16, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=1, ge=1, le=128)
    stop: str | list[str] | None = None
    echo: bool | None = False
    logprobs: int | None = Field(default=None, ge=0, le=5)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    best_of: int | None = Field(default=None, ge=0, le=20)
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    user: str | None = None

    @field_validator("prompt")
    @classmethod
    def _text_prompts(cls, value: Any) -> str | list[str]:
        if isinstance(value, list) and any(not isinstance(item, str) for item in value):
            raise ValueError("token arrays are not supported; send the prompt as text")
        if isinstance(value, list) and not value:
            raise ValueError("at least one prompt is required")
        return value  # type: ignore[no-any-return]

    @field_validator("suffix")
    @classmethod
    def _no_suffix(cls, value: str | None) -> str | None:
        if value:
            raise ValueError("suffix (insertion) is not supported")
        return value

    @field_validator("stop")
    @classmethod
    def _four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)  # type: ignore[arg-type]

    @property
    def choices_per_prompt(self) -> int:
        if self.best_of not in (None, 0, 1) and self.best_of != self.n:
            raise SchemaViolation("best_of other than n is not supported", param="best_of")
        return self.n or 1

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def to_core(self, request_id: str, prompt: str) -> ChatRequest:
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        params = SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            n=self.choices_per_prompt,
            stop=stop,
            seed=self.seed,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
        )
        return ChatRequest(
            model=self.model,
            messages=(Message("user", prompt),),
            params=params,
            user=self.user,
            request_id=request_id,
            stream=bool(self.stream),
        )


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_body(
    completions: list[Completion],
    wire: CompletionRequest,
    completion_id: str,
    created: int,
) -> bytes:
    """The ``text_completion`` object of every prompt's folded answer."""
    n = wire.choices_per_prompt
    choices = []
    prompt_tokens = completion_tokens = 0
    for number, (prompt, completion) in enumerate(zip(wire.prompts, completions, strict=True)):
        for choice in completion.choices:
            choices.append(
                {
                    "text": (prompt if wire.echo else "") + choice.text,
                    "index": number * n + choice.index,
                    "logprobs": None,
                    "finish_reason": finish_reason(choice.finish_reason),
                }
            )
        if completion.usage is not None:
            prompt_tokens += completion.usage.prompt_tokens
            completion_tokens += completion.usage.completion_tokens
    return orjson.dumps(
        {
            "id": completion_id,
            "object": "text_completion",
            "created": created,
            "model": wire.model,
            "choices": choices,
            "usage": _usage(prompt_tokens, completion_tokens),
        }
    )


class CompletionChunkEncoder:
    """Encodes the streams of every prompt, one after another, as ``text_completion`` chunks.

    ``prompt(number, text)`` starts a prompt's stream; ``finish`` gives the frames that end
    a good stream (the usage chunk if asked for, then ``[DONE]``).
    """

    def __init__(self, wire: CompletionRequest, completion_id: str, created: int):
        self._head = orjson.dumps(
            {
                "id": completion_id,
                "object": "text_completion",
                "created": created,
                "model": wire.model,
            }
        )[:-1]
        self._echo = bool(wire.echo)
        self._n = wire.choices_per_prompt
        self._include_usage = wire.include_usage
        self._base = 0
        self._prompt = ""
        self._started: set[int] = set()
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self.failed = False

    def prompt(self, number: int, text: str) -> None:
        self._base = number * self._n
        self._prompt = text
        self._started = set()

    def _chunk(self, index: int, text: str, reason: str | None = None) -> bytes:
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": reason}
        return self._head + b',"choices":[' + orjson.dumps(choice) + b"]}"

    def encode(self, event: Event) -> bytes | None:
        if isinstance(event, TextDelta):
            text = event.text
            if self._echo and event.choice not in self._started:
                self._started.add(event.choice)
                text = self._prompt + text
            return self._chunk(self._base + event.choice, text)
        if isinstance(event, Finish):
            text = ""
            if self._echo and event.choice not in self._started:
                text = self._prompt  # an empty answer still echoes its prompt
            return self._chunk(self._base + event.choice, text, finish_reason(event.reason))
        if isinstance(event, Usage):
            self._prompt_tokens += event.prompt_tokens
            self._completion_tokens += event.completion_tokens
        return None

    def error(self, error: ContinuumError) -> bytes:
        self.failed = True
        return error_json(error)

    def end(self) -> bytes | None:
        return None  # a prompt's end; the request's end is ``finish``

    def finish(self) -> list[bytes]:
        frames = []
        if self._include_usage:
            usage = _usage(self._prompt_tokens, self._completion_tokens)
            frames.append(self._head + b',"choices":[],"usage":' + orjson.dumps(usage) + b"}")
        frames.append(DONE)
        return frames
