"""The local models' tokenizer: words and punctuation, each with its leading whitespace.

Joining the tokens of a text gives the text back exactly, so a stream of tokens
relays the answer without loss and usage counts are consistent with what was sent.
"""

from __future__ import annotations

import re

from continuum.core.types import ChatRequest

_TOKEN = re.compile(r"\s*[\w']+|\s*[^\w\s]|\s+$")
# OpenAI-style accounting: a few tokens of framing per message, and three to prime the reply.
PER_MESSAGE = 3
REPLY_PRIMING = 3


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count(text: str) -> int:
    return len(_TOKEN.findall(text))


def prompt_tokens(request: ChatRequest) -> int:
    total = REPLY_PRIMING
    for message in request.messages:
        total += PER_MESSAGE + count(message.text)
        for call in message.tool_calls:
            total += count(call.name) + count(call.arguments)
    for tool in request.tools:
        total += count(tool.name) + count(tool.description or "")
    return total
