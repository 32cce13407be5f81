"""Schemathesis hooks for ``bench/fuzz.py``: the chat route's ``model`` pinned to served ids.

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS=bench.schemathesis_hooks``. Without a
pinned model nearly every generated chat would be a 404 before reaching the gateway's
core; with it, positive and negative bodies reach the pipeline and the local models.
"""

from __future__ import annotations

from typing import Any

import schemathesis

SERVED = ("local-echo", "local-text")


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    body = raw_schema["components"]["schemas"]["ChatCompletionRequest"]
    body["properties"]["model"] = {"type": "string", "enum": list(SERVED)}


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    # Negative cases too: whatever else is broken, the model is one the gateway serves.
    if isinstance(body, dict) and "messages" in body:
        body["model"] = SERVED[len(body) % len(SERVED)]
    return body
