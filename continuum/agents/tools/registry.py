"""The tools agents may name: the built-ins and those loaded from Python modules.

A registry is an ordinary object, built once by whoever loads the configuration; there
is no global list that ``@tool`` writes to. Loading a module collects the tools it
defines (every module-level ``FunctionTool``), so a tools module needs nothing but
decorated functions.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator

from continuum.agents.tools.base import FunctionTool


class ToolRegistry:
    """Tools by name, in the order they were added."""

    def __init__(self, tools: Iterable[FunctionTool] = ()):
        self._tools: dict[str, FunctionTool] = {}
        for item in tools:
            self.add(item)

    def add(self, item: FunctionTool) -> None:
        """Add a tool; a second tool with the same name raises ``ValueError``."""
        existing = self._tools.get(item.name)
        if existing is item:
            return
        if existing is not None:
            raise ValueError(f"two tools are named {item.name!r}")
        self._tools[item.name] = item

    def load_module(self, module_name: str) -> list[FunctionTool]:
        """Import ``module_name`` and add the tools it defines; returns them.

        Raises ``ImportError`` if it cannot be imported and ``ValueError`` if it defines
        no tools or one whose name is taken.
        """
        module = importlib.import_module(module_name)
        found = [value for value in vars(module).values() if isinstance(value, FunctionTool)]
        if not found:
            raise ValueError(
                f"module {module_name!r} defines no tools (decorate its functions with @tool)"
            )
        for item in found:
            self.add(item)
        return found

    def get(self, name: str) -> FunctionTool | None:
        return self._tools.get(name)

    def __getitem__(self, name: str) -> FunctionTool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[FunctionTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)
