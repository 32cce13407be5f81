"""The local models' tokenizer: words and punctuation, each with its leading whitespace.

Joining the tokens of a text gives the text back exactly, so a stream of tokens
relays the answer without loss and usage counts are consistent with what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from continuum.core.types import ChatRequest

_TOKEN = re.compile(r"\s*[\w']+|\s*[^\w\s]|\s+$")
_SPLIT = re.compile(r"(?<=\S)\s")
# OpenAI-style accounting: a few tokens of framing per message, and three to prime the reply.
PER_MESSAGE = 3
REPLY_PRIMING = 3


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def token_lists(text: str, size: int = 4096) -> Iterator[list[str]]:
    """The tokens of ``text`` in lists, each from about ``size`` characters of it: a long
    text is never cut into tokens all at once, a short one costs one ``findall``."""
    if len(text) <= size:
        yield _TOKEN.findall(text)
        return
    for part in chunks(text, size):
        yield _TOKEN.findall(part)


def chunks(text: str, size: int) -> Iterator[str]:
    """``text`` in pieces of about ``size`` characters whose tokens are exactly the text's.

    A piece ends just before a whitespace character that follows a non-space one: a
    token starts with its leading whitespace there, so no token is cut in two. (Text
    with no such place stays whole.)
    """
    start = 0
    while len(text) - start > size:
        found = _SPLIT.search(text, start + size)
        if found is None:
            break
        yield text[start : found.start()]
        start = found.start()
    yield text[start:]


def count(text: str) -> int:
    return len(_TOKEN.findall(text))


def prompt_counts(request: ChatRequest, piece: int = 1 << 62) -> Iterator[int]:
    """The prompt's token count in parts that add up to it, each over at most ``piece``
    characters of text (a caller may pause between them)."""
    yield REPLY_PRIMING
    for message in request.messages:
        yield PER_MESSAGE
        for part in chunks(message.text, piece):
            yield count(part)
        for call in message.tool_calls:
            yield count(call.name) + count(call.arguments)
    for tool in request.tools:
        yield count(tool.name) + count(tool.description or "")


def prompt_tokens(request: ChatRequest) -> int:
    """``sum(prompt_counts(request))``, without the generator (the hot path's short prompts)."""
    total = REPLY_PRIMING
    for message in request.messages:
        total += PER_MESSAGE + count(message.text)
        for call in message.tool_calls:
            total += count(call.name) + count(call.arguments)
    for tool in request.tools:
        total += count(tool.name) + count(tool.description or "")
    return total
