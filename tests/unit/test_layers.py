"""The core depends on nothing above it: no routing, providers or doors."""

from __future__ import annotations

import ast
from pathlib import Path

import continuum

CORE = Path(continuum.__file__).parent / "core"
FORBIDDEN = ("continuum.routing", "continuum.providers", "continuum.doors", "continuum.dialects")


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_imports_nothing_from_routing_providers_doors_or_dialects() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) >= 8  # the check looks at the real core
    offenders = {
        f"{path.name}: {name}"
        for path in modules
        for name in imports(path)
        if name.startswith(FORBIDDEN)
    }
    assert offenders == set()


def test_the_check_sees_an_offending_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from continuum.doors.http import sse\nimport continuum.routing.router\n")
    assert {n for n in imports(bad) if n.startswith(FORBIDDEN)} == {
        "continuum.doors.http",
        "continuum.routing.router",
    }
