"""What the local models say. Pure functions: same request, same answer.

* ``echo`` repeats the last user message.
* ``text`` writes fluent-looking sentences from a seeded generator: the seed is the
  request itself (messages, ``seed``, ``temperature``, choice index), so the same
  request always gets the same answer and a different ``seed`` a different one.
  Higher temperatures draw from a wider vocabulary.
* With tools, both models call a tool when ``tool_choice`` asks for one or the last
  user message names one, filling the arguments from its JSON Schema; after a tool
  result they answer with what the tool returned.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from continuum.core.types import ChatRequest, Tool

_WORDS = tuple(
    """the gateway streams every token to the client while the model thinks about a clear
    answer and a careful reader notes each idea as it arrives from the provider behind a
    single interface that keeps requests simple and fast so people can build useful tools
    with small reliable parts across many services where data moves quickly and quietly
    through queues caches and logs until a result appears on the screen in plain words
    that explain how systems work together under load over time without losing anything
    important because each step checks limits records usage and routes work to healthy
    places where models run on machines near the users who asked""".split()
)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What one choice will produce before limits are applied."""

    text: str
    calls: tuple[PlannedCall, ...] = ()


def _rng(request: ChatRequest, choice: int) -> random.Random:
    digest = hashlib.sha256()
    for message in request.messages:
        digest.update(message.role.encode())
        digest.update(b"\0")
        digest.update(message.text.encode())
        digest.update(b"\1")
    params = request.params
    digest.update(f"{params.seed}|{params.temperature}|{choice}".encode())
    return random.Random(digest.digest())


def generate_text(request: ChatRequest, choice: int) -> str:
    rng = _rng(request, choice)
    temperature = request.params.temperature
    breadth = (
        len(_WORDS) if temperature is None else max(8, int(len(_WORDS) * min(temperature, 2) / 2))
    )
    vocabulary = _WORDS[:breadth]
    sentences = []
    for _ in range(rng.randint(2, 5)):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(6, 14))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def _tool_to_call(request: ChatRequest) -> Tool | None:
    if not request.tools:
        return None
    last = request.messages[-1] if request.messages else None
    if last is not None and last.role == "tool":
        return None  # a tool has answered: now the model replies in words
    choice = request.tool_choice
    if choice == "none":
        return None
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        return next((tool for tool in request.tools if tool.name == wanted), None)
    if choice == "required":
        return request.tools[0]
    prompt = request.last_user_text.lower()
    return next((tool for tool in request.tools if tool.name.lower() in prompt), None)


def _arguments(tool: Tool, prompt: str) -> str:
    schema = tool.parameters or {}
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = schema.get("required") or list(properties)
    filled: dict[str, Any] = {}
    for name in required:
        kind = (properties.get(name) or {}).get("type", "string")
        filled[name] = {
            "integer": 1,
            "number": 1.0,
            "boolean": True,
            "array": [],
            "object": {},
        }.get(kind, prompt)
    return orjson.dumps(filled).decode()


def plan(model: str, request: ChatRequest, choice: int) -> Plan:
    tool = _tool_to_call(request)
    if tool is not None:
        return Plan(
            text="", calls=(PlannedCall(tool.name, _arguments(tool, request.last_user_text)),)
        )
    last = request.messages[-1] if request.messages else None
    if last is not None and last.role == "tool":
        return Plan(text=f"The tool returned: {last.text}")
    if model == "echo":
        return Plan(text=request.last_user_text)
    return Plan(text=generate_text(request, choice))
