"""Reading a tool's description and its parameters' descriptions from its docstring.

Two common layouts are understood, Google's::

    Args:
        city: The city to look up.
        days (int): How many days ahead,
            counted from today.

and NumPy's::

    Parameters
    ----------
    city : str
        The city to look up.

The description is the text before the first section (``Args:``, ``Returns:``, …).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_SECTIONS = (
    "args|arguments|parameters|params|keyword args|keyword arguments|other parameters"
    "|returns|return|yields|yield|raises|except|exceptions|examples?|notes?|attributes"
    "|see also|warnings?|todo|references|methods"
)
_GOOGLE_HEADER = re.compile(rf"^({_SECTIONS}):\s*$", re.IGNORECASE)
_NUMPY_HEADER = re.compile(rf"^({_SECTIONS})\s*$", re.IGNORECASE)
_UNDERLINE = re.compile(r"^-{3,}\s*$")
_PARAMETER_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_ENTRY = re.compile(
    r"^\*{0,2}(?P<name>[A-Za-z_]\w*)\s*(?:\((?P<type>[^)]*)\))?\s*(?::\s*(?P<rest>.*))?$"
)


@dataclass(frozen=True, slots=True)
class Docstring:
    description: str
    parameters: dict[str, str] = field(default_factory=dict)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _sections(lines: list[str]) -> list[tuple[int, str, bool, int]]:
    """(line index of the header, section name, NumPy style, first line of its body)."""
    found = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _indent(line) == 0 and _GOOGLE_HEADER.match(stripped):
            found.append((index, stripped[:-1].strip().lower(), False, index + 1))
        elif (
            _indent(line) == 0
            and _NUMPY_HEADER.match(stripped)
            and index + 1 < len(lines)
            and _UNDERLINE.match(lines[index + 1].strip())
        ):
            found.append((index, stripped.lower(), True, index + 2))
    return found


def _entries(body: list[str], numpy: bool) -> dict[str, str]:
    parameters: dict[str, list[str]] = {}
    base = min((_indent(line) for line in body if line.strip()), default=0)
    current: list[str] | None = None
    for line in body:
        if not line.strip():
            continue
        if _indent(line) == base:
            match = _ENTRY.match(line.strip())
            if match is None:
                current = None
                continue
            current = parameters.setdefault(match["name"], [])
            rest = (match["rest"] or "").strip()
            if rest and not numpy:  # NumPy puts the type after the colon, not a description
                current.append(rest)
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(words) for name, words in parameters.items() if words}


def parse_docstring(doc: str | None) -> Docstring:
    """The description and per-parameter descriptions found in ``doc``."""
    if not doc:
        return Docstring("")
    lines = inspect.cleandoc(doc).splitlines()
    sections = _sections(lines)
    end = sections[0][0] if sections else len(lines)
    description = "\n".join(lines[:end]).strip()
    parameters: dict[str, str] = {}
    for position, (_, name, numpy, start) in enumerate(sections):
        stop = sections[position + 1][0] if position + 1 < len(sections) else len(lines)
        if name in _PARAMETER_SECTIONS:
            parameters.update(_entries(lines[start:stop], numpy))
    return Docstring(description, parameters)
