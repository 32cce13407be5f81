"""What the local models say. Pure functions: same request, same answer.

* ``echo`` repeats the last user message.
* ``text`` writes fluent-looking sentences from a seeded generator: the seed is the
  request itself (messages, ``seed``, ``temperature``, choice index), so the same
  request always gets the same answer and a different ``seed`` a different one.
  Higher temperatures draw from a wider vocabulary.
* With tools, both models call the tools the last user message names (several in one
  turn if it names several), a calculator-like tool for a message holding arithmetic,
  or what ``tool_choice`` asks for, filling the arguments from the message and the JSON
  Schema; once the tools have answered, they answer from the results
  (``12*(3+4) = 84``). The rules are in ``tool_use``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from continuum.core.types import ChatRequest
from continuum.providers.local.tool_use import answer_from_tools, arguments, tools_to_call

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


def plan(model: str, request: ChatRequest, choice: int) -> Plan:
    calls = tools_to_call(request)
    if calls:
        prompt = request.last_user_text
        return Plan(
            text="", calls=tuple(PlannedCall(tool.name, arguments(tool, prompt)) for tool in calls)
        )
    answer = answer_from_tools(request)
    if answer is not None:
        return Plan(text=answer)
    if model == "echo":
        return Plan(text=request.last_user_text)
    return Plan(text=generate_text(request, choice))
