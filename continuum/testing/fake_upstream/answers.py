"""What every fake says, whatever its wire format: deterministic and easy to assert.

* The answer repeats the last user message word by word (``chunks`` pieces: the words
  are cycled or cut to fit). After a tool result it says ``The tool said: <result>``.
* With tools, it calls a tool when ``tool_choice`` names one or is ``required``/``any``,
  or when the last user message names a tool; the arguments fill the schema's required
  properties with the user's text.
* A scripted ``Turn`` (``FakeUpstream.script_turns``) replaces the next answers: its
  text and its tool calls (several in one answer, with exactly the arguments given,
  broken JSON included), so agent loops can be driven step by step.
* Usage counts whitespace-separated words: prompt words in, content pieces out.
* Embeddings are unit vectors derived from a hash of the text.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Conversation:
    """The parts of a request the answer depends on, decoded by each flavour."""

    prompt_text: str
    last_user: str
    tool_result: str | None
    tools: Sequence[tuple[str, Mapping[str, Any]]]  # (name, JSON Schema)
    tool_choice: str | None  # None: auto; "none"; "required"; or a tool name
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """A scripted answer: some text, then tool calls as ``(name, arguments JSON text)``.

    Flavours whose wire carries arguments as objects (Anthropic, Ollama) need JSON
    objects; OpenAI's carries the text as written, so broken JSON reaches the client.
    """

    text: str = ""
    calls: tuple[tuple[str, str], ...] = ()


def says(text: str) -> Turn:
    return Turn(text=text)


def calls(*calls: tuple[str, str], text: str = "") -> Turn:
    return Turn(text=text, calls=calls)


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call of an answer; its arguments come in ``pieces`` (streamed deltas)."""

    name: str
    pieces: tuple[str, ...]

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True, slots=True)
class Answer:
    pieces: tuple[str, ...]
    calls: tuple[Call, ...]
    prompt_tokens: int
    finish: str  # stop, length, tool_calls

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces) + sum(len(call.pieces) for call in self.calls)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _halves(arguments: str) -> tuple[str, ...]:
    half = len(arguments) // 2
    return (arguments[:half], arguments[half:])


def _words(text: str) -> list[str]:
    words = text.split()
    return [("" if i == 0 else " ") + word for i, word in enumerate(words)]


def _tool(conv: Conversation) -> tuple[str, Mapping[str, Any]] | None:
    if not conv.tools or conv.tool_result is not None or conv.tool_choice == "none":
        return None
    if conv.tool_choice in ("required", "any"):
        return conv.tools[0]
    if conv.tool_choice is not None:
        return next((t for t in conv.tools if t[0] == conv.tool_choice), None)
    lowered = conv.last_user.lower()
    return next((t for t in conv.tools if t[0].lower() in lowered), None)


def answer(conv: Conversation, chunks: int | None, turn: Turn | None = None) -> Answer:
    prompt_tokens = max(1, len(conv.prompt_text.split()))
    if turn is not None:
        scripted = tuple(Call(name, _halves(arguments)) for name, arguments in turn.calls)
        finish = "tool_calls" if scripted else "stop"
        return Answer(tuple(_words(turn.text)), scripted, prompt_tokens, finish)
    tool = _tool(conv)
    if tool is not None:
        name, schema = tool
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props) or ["input"]
        arguments = orjson.dumps({key: conv.last_user for key in required}).decode()
        return Answer((), (Call(name, _halves(arguments)),), prompt_tokens, "tool_calls")
    text = conv.last_user if conv.tool_result is None else f"The tool said: {conv.tool_result}"
    words = text.split() or ["Hello"]
    count = chunks if chunks is not None else len(words)
    pieces = [("" if i == 0 else " ") + words[i % len(words)] for i in range(count)]
    finish = "stop"
    if conv.max_tokens is not None and len(pieces) > conv.max_tokens:
        pieces, finish = pieces[: conv.max_tokens], "length"
    return Answer(tuple(pieces), (), prompt_tokens, finish)


def embedding(text: str, dimensions: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]
