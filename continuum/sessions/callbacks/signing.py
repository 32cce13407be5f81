"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

The signature is ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` made with the
``standardwebhooks`` library itself, over the exact bytes sent. Several secrets sign
at once (space-separated signatures) so a receiver can rotate its secret without
downtime.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

from continuum.errors import ConfigError

PREFIX = "whsec_"


def generate_secret() -> str:
    """A fresh ``whsec_`` secret (32 random bytes)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str, key: str = "CONTINUUM_WEBHOOK_SECRET") -> Webhook:
    """A signer for a ``whsec_`` secret of 24 to 64 bytes, or a ``ConfigError``."""
    fix = "set it to whsec_ + base64 of 24-64 random bytes (e.g. `continuum webhook-secret`)"
    if not secret.startswith(PREFIX):
        raise ConfigError("environment", key, "the secret must start with whsec_", fix)
    try:
        raw = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("environment", key, "the secret is not base64", fix) from None
    if not 24 <= len(raw) <= 64:
        raise ConfigError("environment", key, f"the secret is {len(raw)} bytes", fix)
    return Webhook(secret)


class Signer:
    """Signs callback bodies with one or more secrets (the first is the current one)."""

    def __init__(self, secrets: str | Sequence[str]):
        listed = [secrets] if isinstance(secrets, str) else list(secrets)
        if not listed:
            raise ConfigError(
                "environment", "CONTINUUM_WEBHOOK_SECRET", "no secret", "set a whsec_ secret"
            )
        self._hooks = [check_secret(s) for s in listed]

    def headers(self, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The three Standard Webhooks headers for this attempt."""
        when = datetime.fromtimestamp(timestamp, tz=UTC)
        text = body.decode()
        signature = " ".join(hook.sign(message_id, when, text) for hook in self._hooks)
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
