"""Init tokens (``n8nToken``) and stream access tokens: what passes and each refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from continuum.auth.jwt import InitTokenVerifier, StreamTokens, mint_init_token
from continuum.errors import AuthenticationFailed, ConfigError

SECRET = "a-long-random-shared-secret-for-tests-" + "0123456789abcdef" * 2


def pem_pair(private: Any) -> tuple[bytes, bytes]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[bytes, bytes]:
    return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_keys() -> tuple[bytes, bytes]:
    return pem_pair(ec.generate_private_key(ec.SECP256R1()))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A token signed by hand (PyJWT itself refuses to forge the bad ones)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def soon() -> int:
    return int(time.time()) + 300


def refused(verify: Any, token: Any) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        verify(token)
    assert caught.value.status == 401 and caught.value.code == "invalid_token"
    return caught.value.message


def test_a_valid_hs256_token_passes() -> None:
    token = jwt.encode({"exp": soon(), "userId": "u1"}, SECRET, algorithm="HS256")
    assert InitTokenVerifier(secret=SECRET).verify(token)["userId"] == "u1"


def test_mint_init_token_makes_what_the_verifier_accepts(rsa_keys: Any, ec_keys: Any) -> None:
    token = mint_init_token(secret=SECRET, ttl=60, claims={"sub": "n8n"})
    claims = InitTokenVerifier(secret=SECRET).verify(token)
    assert claims["sub"] == "n8n" and 0 < claims["exp"] - time.time() <= 60
    rs = mint_init_token(private_key=rsa_keys[0], algorithm="RS256")
    assert InitTokenVerifier(public_key=rsa_keys[1]).verify(rs)["exp"] > time.time()
    es = mint_init_token(private_key=ec_keys[0], algorithm="ES256")
    assert InitTokenVerifier(public_key=ec_keys[1].decode()).verify(es)["exp"] > time.time()
    with pytest.raises(ConfigError):
        mint_init_token()


def test_expired_tokens_are_refused() -> None:
    token = jwt.encode({"exp": int(time.time()) - 10}, SECRET, algorithm="HS256")
    assert refused(InitTokenVerifier(secret=SECRET).verify, token) == "n8nToken has expired"
    assert InitTokenVerifier(secret=SECRET, leeway=60).verify(token)


def test_exp_is_required() -> None:
    token = jwt.encode({"userId": "u1"}, SECRET, algorithm="HS256")
    message = refused(InitTokenVerifier(secret=SECRET).verify, token)
    assert message == "n8nToken must carry the 'exp' claim"
    token = jwt.encode({"exp": "tomorrow"}, SECRET, algorithm="HS256")
    assert "not a valid JWT" in refused(InitTokenVerifier(secret=SECRET).verify, token)


def test_alg_none_is_refused() -> None:
    for alg in ("none", "None", "NONE"):
        token = forge({"alg": alg, "typ": "JWT"}, {"exp": soon()}, None)
        message = refused(InitTokenVerifier(secret=SECRET).verify, token)
        assert message == f"n8nToken is signed with '{alg}'; accepted: HS256"


def test_hs256_signed_with_the_public_key_is_refused(rsa_keys: Any) -> None:
    public_pem = rsa_keys[1]
    confused = forge({"alg": "HS256", "typ": "JWT"}, {"exp": soon()}, public_pem)
    only_rsa = InitTokenVerifier(public_key=public_pem)
    assert refused(only_rsa.verify, confused) == "n8nToken is signed with 'HS256'; accepted: RS256"
    both = InitTokenVerifier(secret=SECRET, public_key=public_pem)
    assert both.algorithms == ["HS256", "RS256"]
    assert refused(both.verify, confused) == "n8nToken has an invalid signature"


def test_only_the_configured_algorithms_pass(rsa_keys: Any, ec_keys: Any) -> None:
    hs512 = jwt.encode({"exp": soon()}, SECRET, algorithm="HS512")
    assert "'HS512'; accepted: HS256" in refused(InitTokenVerifier(secret=SECRET).verify, hs512)
    rs = jwt.encode({"exp": soon()}, rsa_keys[0], algorithm="RS256")
    assert "'RS256'; accepted: HS256" in refused(InitTokenVerifier(secret=SECRET).verify, rs)
    es = jwt.encode({"exp": soon()}, ec_keys[0], algorithm="ES256")
    assert "accepted: RS256" in refused(InitTokenVerifier(public_key=rsa_keys[1]).verify, es)
    # Signed by another RSA key: the signature fails.
    other = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    forged = jwt.encode({"exp": soon()}, other[0], algorithm="RS256")
    verifier = InitTokenVerifier(public_key=rsa_keys[1])
    assert refused(verifier.verify, forged) == "n8nToken has an invalid signature"


def test_tampered_and_wrongly_signed_tokens_are_refused() -> None:
    verifier = InitTokenVerifier(secret=SECRET)
    token = jwt.encode({"exp": soon(), "userId": "u1"}, SECRET, algorithm="HS256")
    header, _payload, signature = token.split(".")
    tampered = (
        f"{header}.{b64(json.dumps({'exp': soon(), 'userId': 'admin'}).encode())}.{signature}"
    )
    assert refused(verifier.verify, tampered) == "n8nToken has an invalid signature"
    wrong = jwt.encode({"exp": soon()}, "another-secret-of-enough-length-000000", algorithm="HS256")
    assert refused(verifier.verify, wrong) == "n8nToken has an invalid signature"


@pytest.mark.parametrize("token", [None, "", "abc", "a.b.c", "a.b", 12345])
def test_garbage_is_refused(token: Any) -> None:
    message = refused(InitTokenVerifier(secret=SECRET).verify, token)
    assert message in ("n8nToken is required",) or message.startswith("n8nToken is not a valid JWT")


def test_not_before_issuer_and_audience() -> None:
    early = jwt.encode({"exp": soon(), "nbf": soon()}, SECRET, algorithm="HS256")
    assert refused(InitTokenVerifier(secret=SECRET).verify, early) == "n8nToken is not valid yet"
    strict = InitTokenVerifier(secret=SECRET, issuer="n8n", audience="continuum")
    good = jwt.encode({"exp": soon(), "iss": "n8n", "aud": "continuum"}, SECRET, algorithm="HS256")
    assert strict.verify(good)["iss"] == "n8n"
    bad_iss = jwt.encode({"exp": soon(), "iss": "x", "aud": "continuum"}, SECRET, algorithm="HS256")
    assert refused(strict.verify, bad_iss) == "n8nToken has the wrong issuer"
    bad_aud = jwt.encode({"exp": soon(), "iss": "n8n", "aud": "x"}, SECRET, algorithm="HS256")
    assert refused(strict.verify, bad_aud).startswith("n8nToken is not meant for this use")


def test_a_short_secret_works_without_a_warning_per_token() -> None:
    verifier = InitTokenVerifier(secret="short")  # seed 002's examples use short secrets
    token = mint_init_token(secret="short")
    assert verifier.verify(token)["exp"] > time.time()  # filterwarnings=error: no warning


def test_key_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="no key"):
        InitTokenVerifier()
    with pytest.raises(ConfigError, match="not a PEM public key"):
        InitTokenVerifier(public_key="-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigError, match="1024 bits"):
        InitTokenVerifier(public_key=pem_pair(small)[1])
    with pytest.raises(ConfigError, match="unsupported key type"):
        InitTokenVerifier(public_key=pem_pair(ed25519.Ed25519PrivateKey.generate())[1])


def test_stream_tokens_are_bound_to_one_stream() -> None:
    tokens = StreamTokens(SECRET, ttl=120)
    token = tokens.mint("stream-1")
    claims = tokens.verify(token, "stream-1")
    assert claims["sub"] == "stream-1" and claims["aud"] == "continuum:stream"
    assert 0 < claims["exp"] - time.time() <= 120
    assert refused(lambda t: tokens.verify(t, "stream-2"), token) == (
        "the access token is for another stream"
    )
    assert StreamTokens(SECRET).verify(token, "stream-1")  # another replica, same secret


def test_stream_token_refusals() -> None:
    tokens = StreamTokens(SECRET)

    def verify(token: Any) -> Any:
        return tokens.verify(token, "s1")

    past = StreamTokens(SECRET, clock=lambda: time.time() - 3600).mint("s1", ttl=60)
    assert refused(verify, past) == "the access token has expired"
    assert refused(verify, None) == "an access token is required"
    assert refused(verify, "garbage").startswith("the access token is not a valid JWT")
    header, payload, signature = tokens.mint("s1").split(".")
    assert refused(verify, f"{header}.{payload}.{signature[:-4]}AAAA") == (
        "the access token has an invalid signature"
    )
    # Another secret, or the init secret itself used directly, does not make stream tokens.
    assert "invalid signature" in refused(verify, StreamTokens("other secret").mint("s1"))
    raw = jwt.encode({"sub": "s1", "aud": "continuum:stream", "exp": soon()}, SECRET, "HS256")
    assert "invalid signature" in refused(verify, raw)
    # An init token is not a stream token, and a stream token is not an init token.
    assert "invalid signature" in refused(
        verify, mint_init_token(secret=SECRET, claims={"sub": "s1"})
    )
    init = InitTokenVerifier(secret=SECRET)
    assert refused(init.verify, tokens.mint("s1")) == "n8nToken has an invalid signature"
    with pytest.raises(ConfigError):
        StreamTokens("")
