"""``continuum models``: the models a config directory serves, or those a running gateway
offers a key (``--url``).

    continuum models                                  # from ./config (or --config-dir)
    continuum models --url http://127.0.0.1:8080      # GET /v1/models with the key
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from continuum.commands.exits import EPILOG, FAILED, OK, USAGE


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    models = commands.add_parser(
        "models",
        help="list the models a config serves, or a running gateway offers (--url)",
        description="Without --url: the models (and agents, as agent/<name>) the config "
        "directory serves, with their deployments. With --url: the models GET /v1/models "
        "of that gateway lists for the key (--key, else CONTINUUM_API_KEY, else the "
        "sample credential in the data dir).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    models.add_argument("--config-dir", type=Path, help="the config directory (without --url)")
    models.add_argument("--url", help="a running gateway, e.g. http://127.0.0.1:8080")
    models.add_argument("--key", help="the API key (with --url)")
    models.add_argument("--data-dir", type=Path, help="where sample-key lives (default ./data)")
    models.add_argument("--json", action="store_true", help="one JSON array on stdout")
    models.set_defaults(handler=models_command)


def _configured(args: argparse.Namespace) -> list[dict[str, Any]]:
    from continuum.commands.config import describe, load

    _, files = load(args.config_dir)
    return list(describe(files)["models"])


def _offered(args: argparse.Namespace) -> list[dict[str, Any]] | int:
    import httpx

    from continuum.commands.chat import find_key
    from continuum.settings import ChatClientSettings

    key = find_key(args, ChatClientSettings.from_env())
    if key is None:
        print("continuum models: no API key: pass --key or set CONTINUUM_API_KEY", file=sys.stderr)
        return USAGE
    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        print(f"continuum models: --url must be http(s)://, not {url!r}", file=sys.stderr)
        return USAGE
    try:
        response = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as error:
        print(f"continuum models: cannot reach {url} ({error})", file=sys.stderr)
        return FAILED
    if response.status_code != 200:
        print(
            f"continuum models: {url} answered {response.status_code}: {response.text[:500]}",
            file=sys.stderr,
        )
        return FAILED
    return [
        {"id": model["id"], "owned_by": model.get("owned_by")} for model in response.json()["data"]
    ]


def models_command(args: argparse.Namespace) -> int:
    models = _offered(args) if args.url else _configured(args)
    if isinstance(models, int):
        return models
    if args.json:
        print(json.dumps(models, indent=2))
        return OK
    for model in models:
        deployments = ", ".join(d["name"] for d in model.get("deployments") or [])
        kind = "agent" if model.get("agent") else model.get("owned_by") or ""
        print("\t".join(part for part in (model["id"], kind, deployments) if part))
    return OK
