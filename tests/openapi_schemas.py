"""Validate JSON bodies against the official OpenAI schemas (extracted into tests/data)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).parent / "data" / "openai_schemas.json"


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMAS.read_text())
    return document


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**_document(), "$ref": f"#/components/schemas/{name}"})


def assert_matches(name: str, instance: Any) -> None:
    """Fail with every violation listed if ``instance`` is not a valid ``name``."""
    problems = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)
    ]
    assert not problems, f"{name} violations: {problems}"
