"""Bearer-key authentication against a table of hashed keys.

Keys are never compared as text: the presented key is hashed (SHA-256) and the
digest looked up. Whatever timing the lookup shows depends on digests, which an
attacker cannot steer byte by byte, so it leaks nothing about a stored key. This is
the constant-time comparison, done the way that scales to many keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from continuum.core.context import Principal
from continuum.errors import AuthenticationFailed


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def bearer(header: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <key>`` header, or ``None``."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class StaticKeys:
    """Keys known at start (``users.yml``, the sample credential)."""

    def __init__(self, entries: Iterable[tuple[str, Principal]]):
        self._by_digest = {digest(key): principal for key, principal in entries}

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, credential: str) -> Principal | None:
        return self._by_digest.get(digest(credential))

    async def authenticate(self, credential: str | None) -> Principal:
        if credential is None:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
            )
        principal = self.lookup(credential)
        if principal is None:
            raise AuthenticationFailed("Incorrect API key provided.")
        return principal
