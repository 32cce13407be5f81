"""Validate JSON bodies against the official OpenAI schemas.

The schemas are extracted from ../shared/openai-openapi/openapi.yaml by
scripts/extract_openai_schemas.py into continuum/dialects/openai/schemas.json (the same
file ``/openapi.json`` embeds), with OpenAPI's ``nullable`` turned into JSON Schema.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from continuum.dialects.openai.schemas import SCHEMAS_PATH


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMAS_PATH.read_text())
    return document


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**_document(), "$ref": f"#/components/schemas/{name}"})


def _problems(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def assert_matches(name: str, instance: Any) -> None:
    """Fail with every violation listed if ``instance`` is not a valid ``name``."""
    problems = _problems(validator(name), instance)
    assert not problems, f"{name} violations: {problems}"


@cache
def _completion_chunk_validator() -> Draft202012Validator:
    # The spec has one schema for the legacy completion, streamed or not, and it describes
    # the whole object: `finish_reason` is one of stop/length/content_filter. Streamed
    # chunks carry `null` until the last one, as OpenAI sends them and as the chat chunk
    # schema says for chat. Only that field is widened; everything else is the official one.
    document = copy.deepcopy(_document())
    choice = document["components"]["schemas"]["CreateCompletionResponse"]["properties"]["choices"][
        "items"
    ]
    reason = choice["properties"]["finish_reason"]
    reason["type"] = ["string", "null"]
    reason["enum"] = [*reason["enum"], None]
    return Draft202012Validator(
        {**document, "$ref": "#/components/schemas/CreateCompletionResponse"}
    )


def assert_completion_chunk(instance: Any) -> None:
    """A streamed ``text_completion`` chunk: the official schema, ``finish_reason`` nullable."""
    problems = _problems(_completion_chunk_validator(), instance)
    assert not problems, f"text_completion chunk violations: {problems}"
