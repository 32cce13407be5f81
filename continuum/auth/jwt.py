"""JWTs for durable streams: the ``n8nToken`` of ``/init-stream`` and stream access tokens.

``InitTokenVerifier`` accepts exactly the algorithms its configured keys fix: HS256
with a shared secret, RS256 or ES256 (ES384/ES512 by curve) with a PEM public key. The
token's header only *chooses among* those; it never picks the key type. So ``alg:
none``, an algorithm nobody configured, and the classic confusion (an HS256 token
whose HMAC key is the RSA public key) are all refused: HS256 is checked with the
secret only, never with the PEM. ``exp`` is required.

``StreamTokens`` mints the ``access_token`` of a ``streamUrl``: HS256, minutes long,
bound to one stream by ``sub`` and to this use by ``aud``, under a key derived from
the configured secret (so an init token can never pass as a stream token, and the
other way round).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from continuum.errors import AuthenticationFailed, ConfigError

log = logging.getLogger("continuum.auth")

STREAM_AUDIENCE = "continuum:stream"
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def _refused(message: str) -> AuthenticationFailed:
    return AuthenticationFailed(message, code="invalid_token")


def public_key_algorithm(pem: str | bytes, key: str = "CONTINUUM_JWT_PUBLIC_KEY") -> str:
    """The one algorithm a PEM public key verifies: RS256 for RSA, ES256/384/512 by curve."""
    fix = "give a PEM public key: RSA (2048 bits or more) or EC P-256/P-384/P-521"
    try:
        loaded = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except (ValueError, TypeError) as error:
        raise ConfigError("environment", key, f"not a PEM public key ({error})", fix) from None
    if isinstance(loaded, rsa.RSAPublicKey):
        if loaded.key_size < 2048:
            raise ConfigError("environment", key, f"RSA key of {loaded.key_size} bits", fix)
        return "RS256"
    if isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.curve.name in _CURVES:
        return _CURVES[loaded.curve.name]
    raise ConfigError("environment", key, f"unsupported key type {type(loaded).__name__}", fix)


def _decode(token: str, key: Any, algorithm: str, **options: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        # A short secret is reported once, when it is configured, not on every token.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=[algorithm], **options)
        return claims


def _explain(error: jwt.PyJWTError, name: str) -> AuthenticationFailed:
    if isinstance(error, jwt.ExpiredSignatureError):
        return _refused(f"{name} has expired")
    if isinstance(error, jwt.MissingRequiredClaimError):
        return _refused(f"{name} must carry the {error.claim!r} claim")
    if isinstance(error, jwt.InvalidSignatureError):
        return _refused(f"{name} has an invalid signature")
    if isinstance(error, jwt.ImmatureSignatureError):
        return _refused(f"{name} is not valid yet")
    if isinstance(error, jwt.InvalidAudienceError):
        return _refused(f"{name} is not meant for this use ({error})")
    if isinstance(error, jwt.InvalidIssuerError):
        return _refused(f"{name} has the wrong issuer")
    if isinstance(error, jwt.DecodeError):
        return _refused(f"{name} is not a valid JWT ({error})")
    return _refused(f"{name} is invalid ({error})")


class InitTokenVerifier:
    """Checks the ``n8nToken`` of ``/init-stream`` (seed 002)."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        public_key: str | bytes | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: float = 0.0,
        name: str = "n8nToken",
    ):
        self.name = name
        self._keys: dict[str, Any] = {}
        if secret:
            if len(secret.encode()) < 32:
                log.warning("the JWT secret is shorter than 32 bytes; use a longer random one")
            self._keys["HS256"] = secret
        if public_key:
            self._keys[public_key_algorithm(public_key)] = public_key
        if not self._keys:
            raise ConfigError(
                "environment",
                "CONTINUUM_JWT_SECRET",
                "no key to verify init tokens with",
                "set CONTINUUM_JWT_SECRET (or JWT_SECRET) or CONTINUUM_JWT_PUBLIC_KEY",
            )
        self._options: dict[str, Any] = {
            "options": {"require": ["exp"]},
            "leeway": leeway,
            "issuer": issuer,
            "audience": audience,
        }

    @property
    def algorithms(self) -> list[str]:
        """The algorithms this verifier accepts (fixed by the configured keys)."""
        return sorted(self._keys)

    def verify(self, token: str | None) -> dict[str, Any]:
        """The token's claims, or ``AuthenticationFailed`` saying what is wrong."""
        if not token or not isinstance(token, str):
            raise _refused(f"{self.name} is required")
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as error:
            raise _explain(error, self.name) from None
        if algorithm not in self._keys:
            accepted = ", ".join(self.algorithms)
            raise _refused(f"{self.name} is signed with {algorithm!r}; accepted: {accepted}")
        try:
            return _decode(token, self._keys[algorithm], algorithm, **self._options)
        except jwt.PyJWTError as error:
            raise _explain(error, self.name) from None


class StreamTokens:
    """Mints and checks ``access_token``s bound to one stream."""

    def __init__(
        self, secret: str | bytes, *, ttl: float = 300.0, clock: Callable[[], float] = time.time
    ):
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise ConfigError(
                "environment", "CONTINUUM_JWT_SECRET", "empty secret", "set a random secret"
            )
        self._key = hmac.new(raw, b"continuum/stream-access-token/v1", hashlib.sha256).digest()
        self.ttl = ttl
        self._clock = clock

    def mint(self, stream_id: str, *, ttl: float | None = None) -> str:
        """A token for ``stream_id`` living ``ttl`` seconds (default: ``self.ttl``)."""
        now = int(self._clock())
        claims = {
            "sub": stream_id,
            "aud": STREAM_AUDIENCE,
            "iat": now,
            "exp": now + int(ttl if ttl is not None else self.ttl),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str | None, stream_id: str) -> dict[str, Any]:
        """The token's claims if it is valid for ``stream_id``; else ``AuthenticationFailed``."""
        if not token:
            raise _refused("an access token is required")
        try:
            claims = _decode(
                token,
                self._key,
                "HS256",
                audience=STREAM_AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise _explain(error, "the access token") from None
        if not hmac.compare_digest(str(claims["sub"]), stream_id):
            raise _refused("the access token is for another stream")
        return claims


def mint_init_token(
    *,
    secret: str | None = None,
    private_key: str | bytes | None = None,
    algorithm: str | None = None,
    ttl: float = 3600.0,
    claims: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> str:
    """A token ``/init-stream`` accepts (for ``continuum token``, like seed 002's
    ``generate_token.py``): HS256 with ``secret``, or ``algorithm`` (RS256, ES256…)
    with a PEM ``private_key``."""
    now = int(clock())
    body = {"iat": now, "exp": now + int(ttl), **(claims or {})}
    if private_key is not None:
        return jwt.encode(body, private_key, algorithm=algorithm or "RS256")
    if not secret:
        raise ConfigError(
            "environment", "CONTINUUM_JWT_SECRET", "no secret to sign with", "set the secret"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(body, secret, algorithm=algorithm or "HS256")
