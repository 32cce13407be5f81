"""The neutral embeddings request and its answer, whichever door asked and provider answered.

Input is either texts or token arrays (ids of the client's tokenizer, as OpenAI's API
accepts them), never a mix; each provider says what it does with token arrays
(``docs/providers.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

# The error code of an embeddings request for a model that makes none (a 400).
NO_EMBEDDINGS = "model_not_supported"

EmbeddingInput: TypeAlias = Sequence[str] | Sequence[Sequence[int]]
"""What a provider's ``embed`` receives: texts, or token arrays."""


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """One embeddings request: ``inputs`` are all texts or all token arrays.

    ``model`` is the public model id; ``dimensions`` asks for shorter vectors (the
    provider refuses it when its model cannot shorten).
    """

    model: str
    inputs: tuple[str, ...] | tuple[tuple[int, ...], ...]
    dimensions: int | None = None
    user: str | None = None
    request_id: str = ""

    @property
    def is_tokens(self) -> bool:
        return bool(self.inputs) and not isinstance(self.inputs[0], str)


@dataclass(frozen=True, slots=True)
class Embeddings:
    """The vectors, in input order, and the prompt tokens the model counted."""

    vectors: list[list[float]]
    prompt_tokens: int


def is_token_input(inputs: EmbeddingInput) -> bool:
    """Whether ``inputs`` are token arrays rather than texts."""
    return bool(inputs) and not isinstance(inputs[0], str)


def estimate_embedding_tokens(request: EmbeddingRequest) -> int:
    """An upper-bound guess used only to reserve token limits (exact for token arrays)."""
    if request.is_tokens:
        return sum(len(ids) for ids in request.inputs)
    return sum(len(text) // 3 + 1 for text in request.inputs)
