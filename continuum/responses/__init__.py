"""Stored Responses: what ``POST /v1/responses`` keeps for retrieval and follow-ups."""

from continuum.responses.store import ResponseStore, StoredResponse

__all__ = ["ResponseStore", "StoredResponse"]
