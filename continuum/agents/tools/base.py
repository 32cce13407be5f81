"""Tools: Python functions an agent's model may call, and the ``@tool`` decorator.

    from continuum.agents.tools import tool

    @tool
    async def weather(city: str, days: int = 1) -> dict[str, object]:
        \"\"\"The forecast for a city.

        Args:
            city: The city, e.g. "Rome".
            days: How many days ahead.
        \"\"\"
        ...

The decorator returns a ``FunctionTool`` (still callable as the plain function) whose
``parameters`` is the JSON Schema derived from the type hints and the docstring. A
parameter annotated ``ToolContext`` receives the conversation's context and is not shown
to the model. A tool returns a string or JSON-serialisable data, and raises ``ToolError``
to tell the model what went wrong.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

import orjson
from pydantic import ValidationError

from continuum.agents.tools.docstrings import parse_docstring
from continuum.agents.tools.schema import build_signature
from continuum.core.types import Tool

# What OpenAI accepts as a function name; the other providers accept at least this.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolError(Exception):
    """Raised by a tool, or for a call of one, to tell the model what went wrong.

    Not a request error: its message goes back to the model as the tool's result,
    and the conversation goes on.
    """


@dataclass(slots=True)
class ToolContext:
    """What the tools of one conversation share.

    ``state`` is per-conversation storage, one entry per tool that needs it (the
    scratchpad keeps its notes there). Pass the same context to several runs to let
    the tools remember across turns.
    """

    agent: str = ""
    user: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


def parse_arguments(text: str) -> dict[str, Any]:
    """The JSON object a model wrote as a call's arguments (empty text is no arguments)."""
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ToolError(f"the arguments are not valid JSON ({error}): {text[:200]}") from None
    if not isinstance(value, dict):
        raise ToolError(f"the arguments must be a JSON object, got {type(value).__name__}")
    return value


def render_result(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, data as JSON."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        raise ToolError(
            f"the tool returned a {type(value).__name__}, which is not JSON-serialisable"
        ) from None


def _validation_message(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False)[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        problems.append(f"{where}: {item['msg']}")
    return "invalid arguments: " + "; ".join(problems)


class FunctionTool:
    """A Python function offered to models as a tool.

    ``name``, ``description`` and ``parameters`` (JSON Schema) are what the model sees;
    ``spec`` is the same as the core ``Tool`` of a ``ChatRequest``. Synchronous functions
    run in a worker thread unless ``in_thread=False``, so one that blocks cannot stall
    the server (a timeout then abandons the thread; it cannot be stopped).
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        in_thread: bool | None = None,
    ):
        self.function = function
        self.name = name or function.__name__
        if not TOOL_NAME.match(self.name):
            raise ValueError(f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-'")
        doc = parse_docstring(function.__doc__)
        self.description = description if description is not None else doc.description
        self._signature = build_signature(function, self.name, doc.parameters, ToolContext)
        self.parameters: dict[str, Any] = self._signature.schema
        self.is_async = inspect.iscoroutinefunction(function)
        # Coroutine functions never need a thread; others default to one.
        self.in_thread = not self.is_async and (in_thread is None or in_thread)
        self.spec = Tool(self.name, self.description or None, self.parameters)

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def bind(self, arguments: Mapping[str, Any], context: ToolContext) -> Callable[[], Any]:
        """Validate ``arguments`` against the schema; returns the call, ready to run."""
        signature = self._signature
        try:
            values = signature.model.model_validate(dict(arguments))
        except ValidationError as error:
            raise ToolError(_validation_message(error)) from None
        positional = []
        keywords: dict[str, Any] = {}
        for field_name, parameter in signature.fields.items():
            value = getattr(values, field_name)
            if parameter in signature.positional:
                positional.append(value)
            else:
                keywords[parameter] = value
        if signature.context_parameter is not None:
            keywords[signature.context_parameter] = context
        function = self.function
        return lambda: function(*positional, **keywords)

    async def invoke(self, arguments: Mapping[str, Any], context: ToolContext) -> Any:
        """Validate and run; returns what the function returns."""
        call = self.bind(arguments, context)
        if self.is_async:
            return await call()
        if self.in_thread:
            return await asyncio.to_thread(call)
        return call()

    async def call(self, arguments: str, context: ToolContext) -> str:
        """Run a model's call: JSON arguments in, the result's text out.

        The model's mistakes (arguments that are not JSON or break the schema) and the
        tool's own ``ToolError`` raise ``ToolError``; anything else the function raises
        propagates unchanged.
        """
        result = await self.invoke(parse_arguments(arguments), context)
        return render_result(result)


@overload
def tool(function: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, in_thread: bool | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    in_thread: bool | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make ``function`` a tool: ``@tool`` or ``@tool(name=..., description=...)``.

    The description defaults to the docstring's text before its sections, and each
    parameter's description to its entry under ``Args:`` (or NumPy's ``Parameters``).
    Raises ``TypeError`` at once for a function that cannot be a tool (a parameter
    without a type hint, ``*args``, a type with no JSON Schema).
    """

    def wrap(target: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(target, name=name, description=description, in_thread=in_thread)

    return wrap(function) if function is not None else wrap
