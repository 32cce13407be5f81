"""``continuum config check``: validate a config directory as ``serve`` would, and show it.

It reads ``models.yml``, ``users.yml`` and ``agents.yml`` with the very code a starting (or
reloading) gateway runs, builds the providers they use, and prints the models and their
deployments, the users and their limits, and the agents. It writes nothing: not even the
sample credential of a directory without ``users.yml``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from continuum.commands.exits import EPILOG, OK

if TYPE_CHECKING:
    from continuum.config.served import ConfigFiles
    from continuum.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = commands.add_parser(
        "config",
        help="check a config directory (models.yml, users.yml, agents.yml)",
        description="Configuration tools.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = config.add_subparsers(dest="action", required=True, metavar="{check}")
    check = actions.add_parser(
        "check",
        help="validate a config directory and print what it would serve",
        description="Validate models.yml, users.yml and agents.yml (and the CONTINUUM_* "
        "settings) exactly as `continuum serve` would, and print the models and their "
        "deployments, the users and their limits, and the agents. On a bad configuration "
        "the message names the file, the key and the fix, and the exit status is 2.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "--config-dir",
        type=Path,
        help="the directory (default CONTINUUM_CONFIG_DIR, else ./config)",
    )
    check.add_argument("--json", action="store_true", help="one JSON object on stdout")
    config.set_defaults(handler=config_command)


def load(config_dir: Path | None) -> tuple[Settings, ConfigFiles]:
    """The settings and the validated config files (``ConfigError`` on the first problem),
    with the providers they use built and closed again, as ``serve`` would build them."""
    from continuum.auth.validator import load_validator
    from continuum.config.served import read_config
    from continuum.providers import registry
    from continuum.settings import Settings

    settings = Settings.from_env(config_dir=config_dir)
    files = read_config(settings, make_sample=False)
    load_validator(settings.user_validator)
    providers = registry.build(files.providers(), settings)

    async def close() -> None:
        for provider in providers.values():
            await provider.aclose()

    asyncio.run(close())
    return settings, files


def describe(files: ConfigFiles) -> dict[str, Any]:
    """What ``files`` serves, as plain data (no key or credential in it)."""
    from continuum.agents.agent import agent_model_id

    models = [
        {
            "id": route.id,
            "owned_by": route.owned_by,
            "deployments": [
                {"name": d.name, "provider": d.provider, "weight": d.weight}
                for d in route.deployments
            ],
        }
        for route in files.routes
    ]
    models += [
        {"id": agent_model_id(name), "owned_by": "continuum", "agent": name, "deployments": []}
        for name in files.agents
    ]
    users = [
        {
            "name": principal.name,
            "id": principal.id,
            "models": sorted(principal.permissions) if principal.permissions is not None else "*",
            "limits": [str(limit) for limit in principal.limits],
            "admin": principal.is_admin,
        }
        for _, principal in files.users
    ]
    agents = [
        {
            "name": agent.name,
            "model": agent.model,
            "tools": sorted(agent.tools),
            "limits": [str(limit) for limit in agent.rate_limit],
        }
        for agent in files.agents.values()
    ]
    return {
        "models": models,
        "users": users,
        "agents": agents,
        "default_model": files.default_model,
        "sample_credential": files.sample_key is not None,
    }


def _print(settings: Settings, summary: dict[str, Any]) -> None:
    where = settings.config_dir
    present = [
        n for n in ("models.yml", "users.yml", "agents.yml") if where and (where / n).exists()
    ]
    print(f"config dir: {where or '(none: the embedded default)'}", end="")
    print(f" ({', '.join(present) or 'no config files'})")
    print(f"models ({len(summary['models'])}):")
    for model in summary["models"]:
        if "agent" in model:
            print(f"  {model['id']}  (agent)")
            continue
        print(f"  {model['id']}  (owned by {model['owned_by']})")
        for deployment in model["deployments"]:
            print(f"    -> {deployment['name']}  weight {deployment['weight']:g}")
    print(f"users ({len(summary['users'])}):")
    if summary["sample_credential"]:
        print("  the sample credential (no users.yml; made in the data dir at start)")
    for user in summary["users"]:
        if summary["sample_credential"]:
            break
        models = user["models"] if user["models"] == "*" else ",".join(user["models"]) or "-"
        limits = ", ".join(user["limits"]) or "unlimited"
        admin = "  admin" if user["admin"] else ""
        print(f"  {user['name']} ({user['id']})  models: {models}  limits: {limits}{admin}")
    print(f"agents ({len(summary['agents'])}):")
    for agent in summary["agents"]:
        tools = ",".join(agent["tools"]) or "-"
        limits = ", ".join(agent["limits"]) or "unlimited"
        print(f"  {agent['name']}  model: {agent['model']}  tools: {tools}  limits: {limits}")
    print(f"prompt API default model: {summary['default_model'] or '(none)'}")
    print("config OK")


def config_command(args: argparse.Namespace) -> int:
    settings, files = load(args.config_dir)
    summary = describe(files)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(settings, summary)
    return OK
