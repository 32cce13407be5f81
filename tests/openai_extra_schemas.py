"""The official schemas of the Files and Embeddings objects, for tests that build their bodies.

Merged into tests/openapi_schemas.py (one extracted document,
continuum/dialects/openai/schemas.json, whose roots include OpenAIFile, ListFilesResponse,
DeleteFileResponse and CreateEmbeddingResponse); kept so existing imports work.
"""

from __future__ import annotations

from tests.openapi_schemas import assert_matches, validator

__all__ = ["assert_matches", "validator"]
