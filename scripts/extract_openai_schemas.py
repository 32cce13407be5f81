"""Extract the official OpenAI schemas of what our OpenAI routes answer from the spec.

    python scripts/extract_openai_schemas.py ../shared/openai-openapi/openapi.yaml

writes continuum/dialects/openai/schemas.json: the named component schemas and everything
they reference, as JSON Schema (OpenAPI's ``nullable: true`` turned into a ``null`` type,
so a standard validator reads it as the spec means it). The tests validate every body
and stream event against it (tests/openapi_schemas.py), and ``/openapi.json`` embeds the
ones its routes name (continuum/doors/http/openapi.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOTS = [
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "ListModelsResponse",
    "Model",
    "ErrorResponse",
    # Responses
    "Response",
    "ResponseStreamEvent",
    "ResponseItemList",
    # legacy completions
    "CreateCompletionResponse",
    # files and embeddings
    "CreateFileRequest",
    "OpenAIFile",
    "ListFilesResponse",
    "DeleteFileResponse",
    "CreateEmbeddingRequest",
    "CreateEmbeddingResponse",
]
OUT = Path(__file__).resolve().parent.parent / "continuum" / "dialects" / "openai" / "schemas.json"


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _json_schema(v) for k, v in node.items() if not k.startswith("x-")}
        if out.pop("nullable", False):
            if "type" in out:
                out["type"] = (
                    [out["type"], "null"]
                    if isinstance(out["type"], str)
                    else [*out["type"], "null"]
                )
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
            if "$ref" in out or "anyOf" in out or "allOf" in out:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    return node


def _recursion(node: Any, name: str) -> Any:
    """Draft 2019-09's ``$recursiveRef: "#"`` (the schema itself) as a plain ``$ref``, which
    OpenAPI 3.1's JSON Schema 2020-12 reads (it has no ``$recursiveAnchor``)."""
    if isinstance(node, dict):
        if node.get("$recursiveRef") == "#":
            return {"$ref": f"#/components/schemas/{name}"}
        return {k: _recursion(v, name) for k, v in node.items() if k != "$recursiveAnchor"}
    if isinstance(node, list):
        return [_recursion(v, name) for v in node]
    return node


def extract(spec_path: Path) -> dict[str, Any]:
    spec = yaml.load(spec_path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    schemas = spec["components"]["schemas"]
    wanted, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted[name] = schemas[name]
        todo.extend(_refs(schemas[name]) - wanted.keys())
    converted = {name: _recursion(_json_schema(schema), name) for name, schema in wanted.items()}
    return {"components": {"schemas": dict(sorted(converted.items()))}}


if __name__ == "__main__":
    OUT.write_text(json.dumps(extract(Path(sys.argv[1])), indent=0, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
