"""``continuum token``: mint an ``n8nToken`` for ``POST /init-stream`` (seed 002's
``generate_token.py``).

    export CONTINUUM_JWT_SECRET=…            # the gateway's secret (or JWT_SECRET)
    continuum token                           # HS256, valid one hour
    continuum token --ttl 600 --claim sub=alice --claim team=ops
    continuum token --private-key key.pem --alg ES256   # the gateway has the public key

The token goes to stdout alone, so ``TOKEN=$(continuum token)`` works. A ``sub`` claim
naming a ``users.yml`` user makes the stream that user's (docs/sessions.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from continuum.auth.jwt import mint_init_token
from continuum.commands.exits import EPILOG
from continuum.errors import ConfigError
from continuum.settings import SessionSettings

TEXT_CLAIMS = frozenset({"sub", "iss", "jti"})  # registered claims that must be strings
ALGORITHMS = ("HS256", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


def _claim(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value")
    if name in TEXT_CLAIMS:
        return name, raw
    try:
        value = json.loads(raw)  # numbers, booleans, lists stay what they look like
    except ValueError:
        value = raw
    return name, value


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``token`` to the ``continuum`` command's subcommands."""
    token = commands.add_parser(
        "token",
        help="mint an n8nToken for POST /init-stream",
        description="Mint a JWT that POST /init-stream accepts as its n8nToken: HS256 with "
        "CONTINUUM_JWT_SECRET (or JWT_SECRET), or signed with a private key whose public "
        "half the gateway has (CONTINUUM_JWT_PUBLIC_KEY).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    token.add_argument("--ttl", type=float, default=3600.0, help="seconds it is valid (3600)")
    token.add_argument(
        "--claim",
        type=_claim,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra claim (repeatable; VALUE is JSON if it parses, else text)",
    )
    token.add_argument("--private-key", type=Path, help="PEM private key (RS256/ES256…)")
    token.add_argument("--alg", choices=ALGORITHMS, help="algorithm (HS256, or RS256 with a key)")
    token.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.ttl <= 0:
        raise ValueError("--ttl must be positive")
    claims = dict(args.claim)
    if args.private_key is not None:
        if args.alg == "HS256":
            raise ValueError("--alg HS256 signs with the secret, not with --private-key")
        pem = args.private_key.read_bytes()
        token = mint_init_token(private_key=pem, algorithm=args.alg, ttl=args.ttl, claims=claims)
    else:
        if args.alg not in (None, "HS256"):
            raise ValueError(f"--alg {args.alg} needs --private-key")
        secret = SessionSettings.from_env().jwt_secret
        if not secret:
            raise ConfigError(
                "environment",
                "CONTINUUM_JWT_SECRET",
                "is not set",
                "export the gateway's secret (or JWT_SECRET), or give --private-key",
            )
        token = mint_init_token(secret=secret, ttl=args.ttl, claims=claims)
    print(token, file=sys.stdout)
    return 0
