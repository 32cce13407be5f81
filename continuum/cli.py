"""The ``continuum`` command: it assembles the subcommands of ``continuum/commands``.

Each subcommand lives in its own module there, with a ``register(commands)`` that adds its
parser and sets ``handler`` (its arguments -> an exit status, ``commands/exits.py``).
Adding one is adding its module name to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from continuum import __version__
from continuum.commands.exits import EPILOG, FAILED, INTERRUPTED, USAGE
from continuum.errors import ConfigError, ContinuumError, InvalidRequest

# The subcommands, in `continuum --help` order: modules of continuum.commands.
COMMANDS = (
    "serve",
    "config",
    "models",
    "keys",
    "usage",
    "db",
    "chat",
    "token",
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="continuum",
        description="The universal AI gateway.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"continuum {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"continuum.commands.{name}").register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``continuum``; returns the exit status (``commands/exits.py``)."""
    args = parser().parse_args(argv)  # a usage error exits with 2 here
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"continuum: configuration error: {error}", file=sys.stderr)
        return USAGE
    except (ValueError, InvalidRequest) as error:  # e.g. a bad rate limit or key name
        print(f"continuum: {error}", file=sys.stderr)
        return USAGE
    except ContinuumError as error:  # e.g. the database is unavailable
        print(f"continuum: {error}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the outermost boundary: a message, exit 1
        print(f"continuum: {type(error).__name__}: {error}", file=sys.stderr)
        return FAILED
