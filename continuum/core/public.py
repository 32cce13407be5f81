"""What a client may read of a deployment's failure: the public model id, nothing else.

A provider's error message may carry what locates or opens its upstream: the provider
type, the base URL and its host, credentials written into it (``user:pass@``), the
upstream's own model name, or an upstream's message quoting any of these. Every error of
a deployment passes through ``public`` before anyone sees it (the router, for failures
before the first event; the pipeline, for an ``ErrorEvent`` after it, which it inspects
anyway): the provider's name becomes the public model id, and the rest is cut out. Operators find
the deployment (credentials redacted, ``Deployment.name``) in the log.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from continuum.core.routes import Deployment, ModelRoute, redact_url
from continuum.errors import ContinuumError

HIDDEN = "***"


def _secrets(deployment: Deployment) -> list[str]:
    """Texts of ``deployment`` that must not reach a client, longest first."""
    found: set[str] = set()
    key = deployment.options.get("api_key")
    if key:
        found.add(str(key))
    base_url = deployment.options.get("base_url")
    if base_url:
        url = str(base_url)
        found |= {url, url.rstrip("/"), redact_url(url)}
        parts = urlsplit(url)
        found |= {parts.netloc, parts.netloc.rpartition("@")[2]}
        for secret in (parts.username, parts.password, parts.hostname):
            if secret:
                found |= {secret, unquote(secret)}
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def public(error: ContinuumError, route: ModelRoute, deployment: Deployment) -> ContinuumError:
    """``error`` with a message that names the public model id only (changed in place)."""
    message = error.message
    text = message.replace(f"{deployment.provider} upstream", f"The upstream of '{route.id}'")
    for secret in _secrets(deployment):
        text = text.replace(secret, HIDDEN)
    upstream = deployment.upstream_model
    if upstream != route.id and upstream in text:
        # The upstream's own name for the model is the deployment's business too.
        text = re.sub(rf"(?<![\w.:/-]){re.escape(upstream)}(?![\w.:/-])", route.id, text)
    if text != message:
        error.message = text
        error.args = (text,)
    return error
