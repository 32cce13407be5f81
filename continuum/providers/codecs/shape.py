"""Reading decoded upstream JSON that may have the wrong shape.

Decoders read fields with ``.get`` chains; on a value of the wrong type those raise
one of ``WRONG_SHAPE``, which each decoder turns into an ``UpstreamError`` in one place.
"""

from __future__ import annotations

from typing import Any

# What reading a well-formed JSON value of the wrong shape raises (``[1][0].get``, ``int("x")``).
WRONG_SHAPE = (AttributeError, TypeError, KeyError, ValueError)


def text(value: Any) -> Any:
    """A text field: a string or None, else the TypeError of a value of the wrong shape."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
