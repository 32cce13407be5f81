"""``continuum serve``: run the gateway (one process, ``--workers N``, or ``--reload``).

A running gateway reloads ``models.yml``, ``users.yml`` and ``agents.yml`` on SIGHUP
(``config/reload.py``); with ``--workers`` the supervisor forwards SIGHUP to every
worker, and each reloads its own copy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from continuum import __version__
from continuum.commands.exits import EPILOG, OK, USAGE
from continuum.settings import Settings

if TYPE_CHECKING:
    from continuum.gateway import Gateway

DESCRIPTION = """\
Run the gateway. It reloads models.yml, users.yml and agents.yml on SIGHUP (to the
process, or to the supervisor with --workers, which forwards it), and when they change
with CONTINUUM_CONFIG_WATCH=true; a bad file is refused and the old config keeps serving."""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser(
        "serve",
        help="run the gateway",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="address to bind (CONTINUUM_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (CONTINUUM_PORT, default 8080)")
    serve.add_argument("--config-dir", type=Path, help="directory with models.yml/users.yml")
    serve.add_argument("--data-dir", type=Path, help="state directory (default ./data)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--log-level", help="debug, info, warning, error")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--reload",
        action="store_true",
        help="development: restart when the package's code or the config dir changes",
    )
    serve.set_defaults(handler=serve_command)


def _banner(settings: Settings, key: str | None) -> str:
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"Continuum {__version__} serving on {base} (docs: {base}/docs)"]
    if settings.tcp.enabled:
        lines.append(f"TCP protocol on tcp://{settings.tcp_host}:{settings.tcp.port}")
    if key is not None:
        lines += [
            f"Sample credential (stored in {settings.data_dir / 'sample-key'}): {key}",
            "Try it:",
            f"  curl {base}/v1/chat/completions -H 'Authorization: Bearer {key}' "
            "-H 'Content-Type: application/json' "
            '-d \'{"model": "local-text", "messages": [{"role": "user", "content": "Hello!"}]}\'',
            f"  continuum chat --url {base} --key {key} 'Hello!'",
        ]
    return "\n".join(lines)


def _export(settings: Settings) -> None:
    """Worker and reloader processes build their own gateway from the environment."""
    os.environ.update(
        {
            "CONTINUUM_HOST": settings.host,
            "CONTINUUM_PORT": str(settings.port),
            "CONTINUUM_DATA_DIR": str(settings.data_dir),
            "CONTINUUM_LOG_LEVEL": settings.log_level,
        }
    )
    if settings.config_dir is not None:
        os.environ["CONTINUUM_CONFIG_DIR"] = str(settings.config_dir)


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from continuum.app import build_gateway
    from continuum.doors.http.server import server_options
    from continuum.listeners import ForwardingSupervisor, check_tcp_port
    from continuum.observability import serving

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        config_dir=args.config_dir,
        data_dir=args.data_dir,
        workers=args.workers,
        log_level=args.log_level,
    )
    if args.reload and settings.workers > 1:
        print("continuum serve: --reload runs one process; drop --workers", file=sys.stderr)
        return USAGE
    os.umask(0o077)  # what the gateway and its libraries write under the data dir is private
    gateway = build_gateway(settings)  # validates everything before binding
    serving.start_logging(gateway)  # JSON or text lines, redacted with the gateway's keys
    print(_banner(settings, gateway.sample_key), flush=True)
    options: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        loop="uvloop",
        access_log=args.access_log,
        server_header=False,
        **server_options(settings),  # slow clients: header deadline, connection cap
        ws_max_size=settings.max_body_bytes,  # a bigger WebSocket message is refused unread (1009)
        **serving.UVICORN_LOGGING,
    )
    factory = "continuum.listeners:app_from_env"
    if args.reload:
        _export(settings)
        check_tcp_port(settings)
        package = Path(__file__).resolve().parent.parent
        watched = [str(package), *([str(settings.config_dir)] if settings.config_dir else [])]
        uvicorn.run(
            factory,
            factory=True,
            reload=True,
            reload_dirs=watched,
            reload_includes=["*.py", "*.yml", "*.yaml"],
            **options,
        )
        return OK
    if settings.workers > 1:
        # Workers are separate processes: each builds its own gateway from the environment,
        # and its app's lifespan runs it.
        _export(settings)
        os.environ.update(serving.worker_environment(settings))  # metrics that add up
        check_tcp_port(settings)  # each worker listens on it too (SO_REUSEPORT)
        config = uvicorn.Config(factory, factory=True, workers=settings.workers, **options)
        ForwardingSupervisor(config, sockets=[config.bind_socket()]).run()
        return OK
    config = uvicorn.Config(_app_for(gateway), **options)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(gateway, config))
    return OK


def _app_for(gateway: Gateway) -> Any:
    from continuum.app import create_app

    return create_app(gateway=gateway)


async def _serve(gateway: Gateway, config: Any) -> None:
    """One process: the CLI runs the gateway once and hands it to every listener (HTTP,
    and TCP when enabled); on a signal both drain, then the gateway closes.

    Uvicorn re-raises the signal that stopped it once it has shut down; a handler of
    ours receives it, so the gateway still closes (and flushes the ledger) after.
    """
    from continuum.doors.tcp.door import TcpDoor
    from continuum.listeners import GatewayServer

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: None)
    async with gateway, TcpDoor(gateway) as tcp:
        if gateway.reloader is not None:
            gateway.reloader.listen()
        await GatewayServer(config, doors=(tcp,)).serve()
