"""Authentication against users.yml (in memory) first, then the run-time key store.

Store lookups are cached for ``ttl`` seconds, hits and misses alike, so a flood of
requests with one key costs one query per ``ttl`` and a revocation made through any
replica is honoured by every replica within ``ttl`` (0.5 s: inside the promised 1 s).
"""

from __future__ import annotations

from continuum.auth.keys import StaticKeys, digest
from continuum.auth.store import KeyInfo, KeyStore
from continuum.core.clock import Clock, SystemClock
from continuum.core.context import Principal
from continuum.errors import AuthenticationFailed

MAX_CACHED = 100_000


class KeyChain:
    """The key chain (the pipeline's ``Authenticator``): static keys, then run-time keys.

    Static keys are ``users.yml``'s, the admin key and the sample credential, checked in
    memory; run-time keys come from the ``KeyStore`` through a short cache.
    """

    def __init__(
        self,
        static: StaticKeys,
        store: KeyStore,
        ttl: float = 0.5,
        clock: Clock | None = None,
    ):
        self._static = static
        self._store = store
        self._ttl = ttl
        self._clock = clock or SystemClock()
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}

    async def _lookup(self, credential: str) -> KeyInfo | None:
        now = self._clock.monotonic()
        wanted = digest(credential).hex()  # the cache, too, never holds a key
        cached = self._cache.get(wanted)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        info = await self._store.find_digest(wanted)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()  # bounded: a key-guessing flood cannot grow memory
        self._cache[wanted] = (now, info)
        return info

    async def authenticate(self, credential: str | None) -> Principal:
        if credential is None:
            return await self._static.authenticate(None)
        principal = self._static.lookup(credential)
        if principal is not None:
            return principal
        info = await self._lookup(credential)
        if info is None:
            raise AuthenticationFailed("Incorrect API key provided.")
        if not info.active(self._clock.time()):
            state = "revoked" if info.revoked is not None else "expired"
            raise AuthenticationFailed(f"This API key has been {state}.", code=f"key_{state}")
        return info.principal()
