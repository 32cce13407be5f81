"""What gets measured: the fake upstream alone ("direct"), Continuum and LiteLLM in front of it.

Every target serves the same three model names, each backed by its own fake upstream
process so the answer's shape is fixed per model:

* ``bench-20`` / ``bench-200``: 20 or 200 chunks per answer, no delay (the non-streaming
  answer is the same text in one body);
* ``bench-slow``: a slow drip (first chunk at once, then one chunk every few seconds),
  for holding thousands of open streams.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.procs import Service, free_port

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
RESULTS = ROOT / "bench" / "results"
KEY = "bench-key-0123456789abcdef"
CHAT = "/v1/chat/completions"
# Cores: the gateway alone on core 1; upstreams, wrk and this harness on core 0.
GATEWAY_CPUS = "1"
CLIENT_CPUS = "0"
SLOW_CHUNK_DELAY = 5.0
SLOW_CHUNKS = 60


@dataclass(frozen=True, slots=True)
class UpstreamShape:
    model: str
    chunks: int
    chunk_delay: float


def prompt(model: str) -> str:
    """The bench prompt for ``model``: as many words as its answer has chunks."""
    shape = next(s for s in SHAPES if s.model == model)
    words = ("gateways", "relay", "tokens", "quickly", "and", "quietly")
    return " ".join(words[i % len(words)] for i in range(shape.chunks))


SHAPES = (
    UpstreamShape("bench-20", 20, 0.0),
    UpstreamShape("bench-200", 200, 0.0),
    UpstreamShape("bench-slow", SLOW_CHUNKS, SLOW_CHUNK_DELAY),
)


def upstream_argv(port: int, shape: UpstreamShape) -> list[str]:
    """The fake OpenAI-compatible upstream: ``bench/upstream.py``, built to cost nothing.

    ``BENCH_UPSTREAM`` (a command, split on spaces) replaces the ``python -m bench.upstream``
    part to measure behind another upstream taking the same options, for example
    ``BENCH_UPSTREAM="python -m continuum.testing"`` for the package's fake.
    """
    command = os.environ.get("BENCH_UPSTREAM")
    head = command.split() if command else [sys.executable, "-m", "bench.upstream"]
    return [
        *head,
        "fake-openai",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chunks",
        str(shape.chunks),
        "--chunk-delay",
        str(shape.chunk_delay),
    ]


@dataclass
class Upstreams:
    """One fake upstream process per model shape, all on the client core."""

    workdir: Path
    slow_delay: float = SLOW_CHUNK_DELAY
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def shapes(self) -> tuple[UpstreamShape, ...]:
        return tuple(
            UpstreamShape(s.model, s.chunks, self.slow_delay) if s.chunk_delay else s
            for s in SHAPES
        )

    def start(self) -> Upstreams:
        for shape in self.shapes:
            port = free_port()
            self.services[shape.model] = Service(
                f"upstream-{shape.model}",
                upstream_argv(port, shape),
                port,
                CLIENT_CPUS,
                log=self.workdir / f"upstream-{shape.model}.log",
            ).start()
        return self

    def port(self, model: str) -> int:
        return self.services[model].port

    def base_url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.port(model)}/v1"

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


@dataclass
class Target:
    """A server to measure and the way to reach each bench model through it."""

    name: str
    label: str
    service: Service | None  # None: the direct path (each model is its own upstream)
    upstreams: Upstreams
    key: str | None = KEY
    workers: int = 1
    local: bool = False  # Continuum serving its local model instead of the upstream

    def port(self, model: str) -> int:
        return self.service.port if self.service else self.upstreams.port(model)

    def url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.port(model)}{CHAT}"

    @property
    def measured(self) -> Service | None:
        return self.service


def _continuum_config(workdir: Path, upstreams: Upstreams, local: bool) -> Path:
    config = workdir / ("continuum-local-config" if local else "continuum-config")
    config.mkdir(parents=True, exist_ok=True)
    models: list[dict[str, object]]
    if local:
        # The local echo model answers the bench prompt (one word per upstream chunk)
        # word by word: the same shape as the fake upstream, without the upstream hop.
        models = [
            {
                "id": shape.model,
                "provider": "local",
                "upstream_model": "echo",
                **({"token_delay": shape.chunk_delay} if shape.chunk_delay else {}),
            }
            for shape in upstreams.shapes
        ]
    else:
        models = [
            {
                "id": shape.model,
                "provider": "openai",
                "base_url": upstreams.base_url(shape.model),
                "api_key": "sk-upstream-fake",
            }
            for shape in upstreams.shapes
        ]
    (config / "models.yml").write_text(yaml.safe_dump({"models": models}))
    users = [
        {
            "token": KEY,
            "name": "bench",
            "permissions": "*",
            # Limits are on, as a user runs them, but high enough never to refuse.
            "rate_limit": ["1000000000/minute", "1000000000000 tokens/minute"],
        }
    ]
    (config / "users.yml").write_text(yaml.safe_dump({"users": users}))
    return config


def continuum(
    workdir: Path,
    upstreams: Upstreams,
    workers: int = 1,
    local: bool = False,
    python: str | None = None,
) -> Target:
    """Continuum in front of the fake upstream (``local``: serving its local echo model).

    ``python``: another checkout's interpreter, to measure that build as the *baseline*
    beside this one in the same run (``bench/run --baseline ../old/.venv/bin/python``).
    """
    config = _continuum_config(workdir, upstreams, local)
    port = free_port()
    argv = [
        python or sys.executable,
        "-m",
        "continuum",
        "serve",
        "--port",
        str(port),
        "--config-dir",
        str(config),
        "--data-dir",
        str(
            workdir
            / f"continuum-data-{workers}{'-local' if local else ''}{'-base' if python else ''}"
        ),
        "--log-level",
        "warning",
    ]
    cpus = GATEWAY_CPUS
    if workers > 1:
        argv += ["--workers", str(workers)]
        cpus = "0,1"  # two workers cannot share one core usefully: they get both
    name = "continuum" if workers == 1 else f"continuum-{workers}w"
    label = "Continuum" if workers == 1 else f"Continuum ({workers} workers)"
    if local:
        name, label = f"{name}-local", f"{label}, local model"
    if python:
        name, label = f"{name}-baseline", f"{label} (baseline)"
    # The held-streams test measures capacity up to the machine's descriptor limit; the
    # default cap (half the descriptors, doors/http/server.py) would refuse it earlier.
    env = {"CONTINUUM_MAX_CONNECTIONS": "1000000"}
    service = Service(name, argv, port, cpus, env=env, log=workdir / f"{name}.log")
    return Target(name, label, service, upstreams, workers=workers, local=local)


def openai_provider_available() -> bool:
    """Whether this Continuum has the OpenAI-compatible provider (issue 3)."""
    from continuum.providers.registry import BUILTIN

    return "openai" in BUILTIN


def litellm_available() -> bool:
    return (LITELLM_VENV / "bin" / "litellm").exists()


def litellm(workdir: Path, upstreams: Upstreams) -> Target:
    """LiteLLM's proxy, one worker, no database, auth by master key."""
    config = workdir / "litellm.yaml"
    models = [
        {
            "model_name": shape.model,
            "litellm_params": {
                "model": f"openai/{shape.model}",
                "api_base": upstreams.base_url(shape.model),
                "api_key": "sk-upstream-fake",
            },
        }
        for shape in upstreams.shapes
    ]
    config.write_text(
        yaml.safe_dump({"model_list": models, "general_settings": {"master_key": KEY}})
    )
    port = free_port()
    argv = [
        str(LITELLM_VENV / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
        "--telemetry",
        "False",
    ]
    env = {"LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION"}
    service = Service("litellm", argv, port, GATEWAY_CPUS, env=env, log=workdir / "litellm.log")
    return Target("litellm", "LiteLLM proxy", service, upstreams)


def direct(upstreams: Upstreams) -> Target:
    return Target("direct", "Direct (no gateway)", None, upstreams, key=None)
