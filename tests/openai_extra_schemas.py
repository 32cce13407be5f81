"""The official schemas of the Files and Embeddings objects, for tests that build their bodies.

tests/data/openai_files_embeddings_schemas.json was made with scripts/extract_openai_schemas.py's
``extract`` and ROOTS = OpenAIFile, ListFilesResponse, DeleteFileResponse,
CreateEmbeddingResponse (from ../shared/openai-openapi/openapi.yaml).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).parent / "data" / "openai_files_embeddings_schemas.json"


@cache
def validator(name: str) -> Draft202012Validator:
    document = json.loads(SCHEMAS.read_text())
    return Draft202012Validator({**document, "$ref": f"#/components/schemas/{name}"})


def assert_matches(name: str, instance: Any) -> None:
    """Fail with every violation listed if ``instance`` is not a valid ``name``."""
    problems = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)
    ]
    assert not problems, f"{name} violations: {problems}"
