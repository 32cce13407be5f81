"""A folded answer as Anthropic's ``message`` object (the non-streaming Messages response).

It carries the same blocks a stream of the same answer opens: the text (when there is
any), then one ``tool_use`` block per call with its arguments parsed into ``input``.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.stream import Completion
from continuum.dialects.anthropic.events import message_shell, stop_reason


def _input(arguments: str) -> dict[str, Any]:
    """A call's JSON arguments as the object ``input`` must be; anything else is kept whole
    under ``input`` rather than lost (a model wrote it; the client may still want it)."""
    try:
        value = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return {"input": arguments}
    return value if isinstance(value, dict) else {"input": value}


def message_object(
    completion: Completion, message_id: str, model: str, input_tokens: int
) -> dict[str, Any]:
    """``input_tokens`` counts the prompt when the provider reported no usage."""
    choice = completion.choices[0]
    content: list[dict[str, Any]] = []
    if choice.text:
        content.append({"type": "text", "text": choice.text})
    calls = choice.tool_calls
    for call in calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call.arguments)}
        )
    reason = choice.finish_reason or ("tool_calls" if calls else None)
    message = message_shell(message_id, model, input_tokens)
    message["content"] = content
    message["stop_reason"] = stop_reason(reason, choice.stop_sequence)
    message["stop_sequence"] = choice.stop_sequence
    usage = completion.usage
    if usage is not None:
        message["usage"]["input_tokens"] = usage.prompt_tokens
        message["usage"]["output_tokens"] = usage.completion_tokens
    return message


def message_body(completion: Completion, message_id: str, model: str, input_tokens: int) -> bytes:
    return orjson.dumps(message_object(completion, message_id, model, input_tokens))
