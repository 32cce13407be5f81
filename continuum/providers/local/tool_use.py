"""How the local models use tools: deterministically, from what the prompt says.

Which tools are called, when the request offers tools and no tool has answered yet:

* ``tool_choice`` naming a function: that one; ``"none"``: none.
* every offered tool whose name the last user message mentions as a word, in the order
  they are mentioned (several names, several calls in one turn);
* otherwise, when the message holds arithmetic (``12*(3+4)``) and a calculator-like tool
  is offered (a string parameter named ``expression``, ``expr`` or ``formula``, or "calc"
  in its name), that tool;
* otherwise, with ``tool_choice="required"``, the first tool.

Arguments, per property of the tool's JSON Schema: the arithmetic for an expression
parameter; ``name=value`` or ``name: value`` written in the message; an IANA zone
(``Europe/Rome``) for a ``timezone`` parameter. Required properties with no such value
get one by type: the whole message for a string, the first enum value the message
mentions (else the first), ``1``, ``1.0``, ``true``, ``[]`` or ``{}``.

Once tools have answered, the model answers from their results: ``12*(3+4) = 84`` for a
number from a call with an expression, else ``The tool returned: …`` (one result) or one
``<name> returned: …`` line per result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from continuum.core.types import ChatRequest, Message, Tool, ToolCall

EXPRESSION_NAMES = ("expression", "expr", "formula")
TIMEZONE_NAMES = ("timezone", "time_zone", "tz")

_SPAN = re.compile(r"[0-9.()+\-*/%\s]+")
_BINARY = re.compile(r"[0-9.)]\s*(\*\*|//|[-+*/%])\s*[-+(]*\s*[0-9.(]")
_ZONE = re.compile(r"(?<![\w/])(UTC|[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z0-9_+\-]+){1,2})(?![\w/])")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_MISSING = object()


def arithmetic_in(text: str) -> str | None:
    """The longest arithmetic expression written in ``text``, if any."""
    best: str | None = None
    for match in _SPAN.finditer(text):
        candidate = match.group().strip().rstrip(".+-*/% ").lstrip(".*/%) ")
        while candidate.startswith("(") and candidate.count("(") > candidate.count(")"):
            candidate = candidate[1:].lstrip()
        while candidate.endswith(")") and candidate.count(")") > candidate.count("("):
            candidate = candidate[:-1].rstrip()
        if _BINARY.search(candidate) and (best is None or len(candidate) > len(best)):
            best = candidate
    return best


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None:
        for option in schema.get("anyOf") or schema.get("oneOf") or ():
            if isinstance(option, Mapping) and option.get("type") not in (None, "null"):
                return _kind(option)
    return kind if isinstance(kind, str) else "string"


def _expression_parameter(tool: Tool) -> str | None:
    properties: Mapping[str, Any] = (tool.parameters or {}).get("properties") or {}
    strings = [name for name, schema in properties.items() if _kind(schema) == "string"]
    named = next((name for name in strings if name.lower() in EXPRESSION_NAMES), None)
    if named is None and "calc" in tool.name.lower() and strings:
        return strings[0]
    return named


def _mentions(word: str, text: str) -> int:
    match = re.search(rf"(?<![\w]){re.escape(word.lower())}(?![\w])", text)
    return match.start() if match else -1


def tools_to_call(request: ChatRequest) -> list[Tool]:
    """The tools the local model calls for ``request`` (none once a tool has answered)."""
    if not request.tools or request.tool_choice == "none":
        return []
    last = request.messages[-1] if request.messages else None
    if last is not None and last.role == "tool":
        return []
    choice = request.tool_choice
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        return [tool for tool in request.tools if tool.name == wanted][:1]
    prompt = request.last_user_text
    lowered = prompt.lower()
    named = sorted(
        (position, index, tool)
        for index, tool in enumerate(request.tools)
        if (position := _mentions(tool.name, lowered)) >= 0
    )
    if named:
        return [tool for _, _, tool in named]
    if arithmetic_in(prompt) is not None:
        calculators = [tool for tool in request.tools if _expression_parameter(tool)]
        if calculators:
            return calculators[:1]
    return [request.tools[0]] if choice == "required" else []


def _convert(text: str, kind: str) -> Any:
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _given(name: str, schema: Mapping[str, Any], tool: Tool, prompt: str) -> Any:
    kind = _kind(schema)
    if kind == "string" and name == _expression_parameter(tool):
        expression = arithmetic_in(prompt)
        if expression is not None:
            return expression
    written = re.search(
        rf"(?<![\w]){re.escape(name)}\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)", prompt
    )
    if written is not None:
        value = written.group(1)
        if value[0] in "\"'":
            return _convert(value[1:-1], kind)
        return _convert(value.rstrip(".?!"), kind)
    if name.lower() in TIMEZONE_NAMES and (zone := _ZONE.search(prompt)) is not None:
        return zone.group(1)
    return _MISSING


def _default(schema: Mapping[str, Any], prompt: str) -> Any:
    choices = schema.get("enum")
    if choices:
        lowered = prompt.lower()
        mentioned = [c for c in choices if isinstance(c, str) and _mentions(c, lowered) >= 0]
        return mentioned[0] if mentioned else choices[0]
    return {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}.get(
        _kind(schema), prompt
    )


def arguments(tool: Tool, prompt: str) -> str:
    """The JSON arguments the local model writes for a call of ``tool``."""
    schema = tool.parameters or {}
    properties: Mapping[str, Any] = schema.get("properties") or {}
    # An explicit "required" (even empty) is respected; without one, every property is.
    required = schema["required"] if "required" in schema else list(properties)
    filled: dict[str, Any] = {}
    for name, prop in properties.items():
        value = _given(name, prop if isinstance(prop, Mapping) else {}, tool, prompt)
        if value is not _MISSING:
            filled[name] = value
        elif name in required:
            filled[name] = _default(prop if isinstance(prop, Mapping) else {}, prompt)
    for name in required:
        filled.setdefault(name, prompt)
    return orjson.dumps(filled).decode()


def _expression_of(call: ToolCall | None) -> str | None:
    if call is None:
        return None
    try:
        values = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(values, dict):
        return None
    found = next((values[k] for k in EXPRESSION_NAMES if isinstance(values.get(k), str)), None)
    return found if isinstance(found, str) else None


def _results(messages: Sequence[Message]) -> tuple[list[Message], dict[str, ToolCall]]:
    start = len(messages)
    while start > 0 and messages[start - 1].role == "tool":
        start -= 1
    calls: dict[str, ToolCall] = {}
    if start > 0 and messages[start - 1].role == "assistant":
        calls = {call.id: call for call in messages[start - 1].tool_calls}
    return list(messages[start:]), calls


def answer_from_tools(request: ChatRequest) -> str | None:
    """The answer once tools have replied (the request ends with tool messages), else None."""
    results, calls = _results(request.messages)
    if not results:
        return None
    lines = []
    for message in results:
        call = calls.get(message.tool_call_id or "")
        text = message.text
        expression = _expression_of(call)
        if expression is not None and _NUMBER.fullmatch(text.strip()):
            lines.append(f"{expression} = {text.strip()}")
        elif len(results) == 1:
            lines.append(f"The tool returned: {text}")
        else:
            lines.append(f"{call.name if call else 'A tool'} returned: {text}")
    return "\n".join(lines)
