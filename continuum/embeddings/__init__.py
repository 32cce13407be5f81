"""Embedding vectors in the shapes the Embeddings API hands out (``dimensions``, base64)."""

from continuum.embeddings.vectors import from_base64, normalize, shorten, to_base64

__all__ = ["from_base64", "normalize", "shorten", "to_base64"]
