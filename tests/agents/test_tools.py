"""The @tool decorator: JSON Schema from type hints and docstrings, validation, calling."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from continuum.agents.tools import FunctionTool, ToolContext, ToolError, ToolRegistry, tool
from continuum.agents.tools.base import parse_arguments, render_result
from continuum.agents.tools.docstrings import parse_docstring
from continuum.core.types import Tool


class Place(BaseModel):
    city: str
    country: str | None = None


@tool
def forecast(place: Place, days: int = 1, unit: Literal["C", "F"] = "C") -> dict[str, object]:
    """The weather forecast for a place.

    Several lines of description
    stay together.

    Args:
        place: Where to look.
        days (int): How many days ahead,
            counted from today.
        unit: Celsius or Fahrenheit.

    Returns:
        The forecast.
    """
    return {"city": place.city, "days": days, "unit": unit}


@tool(name="sum-numbers", description="Add numbers up.")
async def add(numbers: list[float], *, context: ToolContext) -> float:
    """Ignored: the decorator's description wins."""
    context.state["added"] = context.state.get("added", 0) + 1
    return sum(numbers)


def test_schema_from_type_hints_and_google_docstring() -> None:
    assert forecast.name == "forecast"
    assert (
        forecast.description
        == "The weather forecast for a place.\n\nSeveral lines of description\nstay together."
    )
    schema = forecast.parameters
    assert schema["type"] == "object" and schema["required"] == ["place"]
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert properties["days"] == {
        "type": "integer",
        "default": 1,
        "description": "How many days ahead, counted from today.",
    }
    assert properties["unit"]["enum"] == ["C", "F"]
    assert properties["place"]["description"] == "Where to look."
    assert "title" not in str(schema)  # pydantic's generated titles are dropped
    jsonschema.Draft202012Validator.check_schema(schema)
    assert forecast.spec == Tool("forecast", forecast.description, schema)


def test_numpy_docstring_and_options() -> None:
    def lookup(term: str, limit: int = 3) -> list[str]:
        """Find entries.

        Parameters
        ----------
        term : str
            What to find.
        limit : int
            At most this many.

        Returns
        -------
        list
        """
        return [term] * limit

    made = FunctionTool(lookup)
    assert made.description == "Find entries."
    assert made.parameters["properties"]["term"]["description"] == "What to find."
    assert made.parameters["properties"]["limit"]["description"] == "At most this many."
    assert add.name == "sum-numbers" and add.description == "Add numbers up."
    assert "context" not in add.parameters["properties"]
    assert add.parameters["required"] == ["numbers"]


def test_docstring_parser_edge_cases() -> None:
    assert parse_docstring(None).description == ""
    assert parse_docstring("Just a line.").parameters == {}
    parsed = parse_docstring(
        """Summary.

        Args:
            *args: Ignored kinds.
            a: First.
            b (list[int]):
                Second, on its own line.
        Raises:
            ValueError: never a parameter.
        """
    )
    assert parsed.description == "Summary."
    assert parsed.parameters == {
        "args": "Ignored kinds.",
        "a": "First.",
        "b": "Second, on its own line.",
    }


async def test_call_validates_then_runs_sync_in_a_thread_and_async_inline() -> None:
    context = ToolContext()
    text = await forecast.call('{"place": {"city": "Rome"}, "days": 2}', context)
    assert text == '{"city":"Rome","days":2,"unit":"C"}'
    assert await add.call('{"numbers": [1, 2.5]}', context) == "3.5"
    assert context.state["added"] == 1
    threads: list[int] = []

    @tool
    def where() -> str:
        """Which thread am I on."""
        threads.append(threading.get_ident())
        return "here"

    @tool(in_thread=False)
    def inline() -> str:
        """Runs on the event loop's thread."""
        threads.append(threading.get_ident())
        return "there"

    assert await where.call("", context) == "here"
    assert await inline.call("{}", context) == "there"
    assert threads[0] != threading.get_ident() and threads[1] == threading.get_ident()
    assert where() == "here"  # still the plain function when called directly


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, got list"),
        ('"text"', "must be a JSON object, got str"),
        ("{}", "invalid arguments: place: Field required"),
        ('{"place": {"city": "Rome"}, "days": "many"}', "days: Input should be a valid integer"),
        ('{"place": {"city": "Rome"}, "unit": "K"}', "unit: Input should be 'C' or 'F'"),
        ('{"place": {"city": "Rome"}, "hours": 3}', "hours: Extra inputs are not permitted"),
        ('{"place": {"town": "Rome"}}', "place.city: Field required"),
    ],
)
async def test_bad_arguments_are_tool_errors_that_say_what_is_wrong(
    arguments: str, message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        await forecast.call(arguments, ToolContext())


async def test_parameter_names_that_pydantic_uses_itself_work() -> None:
    @tool
    def odd(json: str, schema: int, model_config: bool, copy: str = "x", /) -> str:  # type: ignore[misc]
        """Names that shadow BaseModel attributes."""
        return f"{json}{schema}{model_config}{copy}"

    assert sorted(odd.parameters["properties"]) == ["copy", "json", "model_config", "schema"]
    text = await odd.call('{"json": "j", "schema": 1, "model_config": true}', ToolContext())
    assert text == "j1Truex"


@dataclass
class Point:
    x: float
    y: float


async def test_annotated_constraints_and_dataclasses_reach_the_schema() -> None:
    @tool
    def distance(a: Point, b: Point, scale: Annotated[int, Field(ge=1, le=10)] = 1) -> float:
        """Distance between two points."""
        return float(((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5 * scale)

    assert distance.parameters["properties"]["scale"]["maximum"] == 10
    assert (
        await distance.call('{"a": {"x": 0, "y": 0}, "b": {"x": 3, "y": 4}}', ToolContext())
        == "5.0"
    )
    with pytest.raises(ToolError, match="scale: Input should be less than or equal to 10"):
        await distance.call(
            '{"a": {"x": 0, "y": 0}, "b": {"x": 3, "y": 4}, "scale": 11}', ToolContext()
        )


def test_functions_that_cannot_be_tools_are_refused_at_once() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        """No hint."""

    def star(*args: int) -> None:
        """Varargs."""

    class Opaque:
        pass

    def opaque(thing: Opaque) -> None:
        """A type with no schema."""

    with pytest.raises(TypeError, match="parameter 'x' needs a type hint"):
        tool(untyped)
    with pytest.raises(TypeError, match=r"\*args is not allowed"):
        tool(star)
    with pytest.raises(TypeError, match="tool 'opaque'"):
        tool(opaque)
    with pytest.raises(ValueError, match="must be 1-64 letters"):
        tool(name="no spaces")(star)

    class Local:
        pass

    def local(thing: Local) -> None:
        """Its hint names a class the module cannot see (postponed annotations)."""

    with pytest.raises(TypeError, match="cannot read its type hints"):
        tool(local)


def test_results_render_as_text_or_json() -> None:
    assert render_result("plain") == "plain"
    assert render_result({"a": [1, None]}) == '{"a":[1,null]}'
    assert render_result(3) == "3"
    with pytest.raises(ToolError, match="not JSON-serialisable"):
        render_result(object())
    assert parse_arguments("  ") == {}


MODULE = '''
from continuum.agents.tools import tool, ToolContext
from {other} import imported_elsewhere as imported_elsewhere

@tool
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()

@tool(name="remember")
def remember(note: str, *, context: ToolContext) -> int:
    """Keep a note."""
    context.state.setdefault("notes", []).append(note)
    return len(context.state["notes"])

def not_a_tool() -> None:
    pass
'''

OTHER = '''
from continuum.agents.tools import tool

@tool
def imported_elsewhere() -> str:
    """Defined in another module, imported into the first."""
    return "x"
'''


def test_registry_loads_the_tools_a_module_defines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reg_other_tools.py").write_text(OTHER)
    (tmp_path / "reg_my_tools.py").write_text(MODULE.format(other="reg_other_tools"))
    (tmp_path / "reg_empty_tools.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = ToolRegistry()
    loaded = registry.load_module("reg_my_tools")
    assert [t.name for t in loaded] == ["imported_elsewhere", "shout", "remember"]
    assert "shout" in registry and registry["remember"].name == "remember"
    assert len(registry) == 3 and registry.get("nope") is None
    registry.load_module("reg_other_tools")  # the same object again: no conflict
    assert len(registry) == 3
    with pytest.raises(ValueError, match="defines no tools"):
        registry.load_module("reg_empty_tools")
    with pytest.raises(ImportError):
        registry.load_module("reg_no_such_module")

    def other_shout(text: str) -> str:
        """Another tool by the same name."""
        return text

    clash = FunctionTool(other_shout, name="shout")
    with pytest.raises(ValueError, match="two tools are named 'shout'"):
        registry.add(clash)
    for name in ("reg_my_tools", "reg_other_tools", "reg_empty_tools"):
        sys.modules.pop(name, None)
