"""The official OpenAI component schemas of what our OpenAI routes answer.

``schemas.json`` beside this module is extracted from the official OpenAPI document by
``scripts/extract_openai_schemas.py`` (JSON Schema, with OpenAPI's ``nullable`` turned
into ``null`` types). ``/openapi.json`` embeds the ones its routes name; the tests
validate every body and stream event against it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

SCHEMAS_PATH = Path(__file__).with_name("schemas.json")


@cache
def official_schemas() -> dict[str, Any]:
    """Every extracted component schema by name (read once, on first use)."""
    document: dict[str, Any] = orjson.loads(SCHEMAS_PATH.read_bytes())
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas
