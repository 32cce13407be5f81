"""The latency ``/v1/responses`` streams add over ``/v1/chat/completions`` streams, same model.

    .venv/bin/python -m bench.responses_latency [--rounds 300] [--model local-echo]

A real gateway (``continuum serve``) in its own process pinned to one core, this client
on the other. Each round sends, one at a time, the same prompt as a chat stream, a
Responses stream that stores its response (the default, ``store: true``) and one that
does not, in a shuffled order, so the variants share the machine's moods. For each it
times the first text delta and the end of the stream (``[DONE]`` or
``response.completed``), and prints medians, the difference and the ratio to chat.
With ``--upstream`` the model is served by the package's fake OpenAI upstream (its own
process) instead of the local models.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import Service, cores, free_port, prepare_process

KEY = "sk-bench-responses-0123456789"
PROMPT = " ".join(f"word{i}" for i in range(20))  # the echo model answers 20 tokens + "."
VARIANTS = ("chat", "responses", "responses store=false")


def _body(variant: str, model: str) -> tuple[str, dict[str, object], bytes, bytes]:
    """Path, body, the bytes that mark the first text delta, and those that end the stream."""
    if variant == "chat":
        messages = [{"role": "user", "content": PROMPT}]
        body = {"model": model, "stream": True, "messages": messages, "max_tokens": 100}
        return "/v1/chat/completions", body, b'"content":', b"data: [DONE]"
    body = {"model": model, "stream": True, "input": PROMPT, "max_output_tokens": 100}
    if variant.endswith("store=false"):
        body["store"] = False
    return "/v1/responses", body, b"response.output_text.delta", b"event: response.completed"


def _once(client: httpx.Client, variant: str, model: str) -> tuple[float, float]:
    path, body, first_mark, end_mark = _body(variant, model)
    started = time.perf_counter()
    first = None
    seen = b""
    with client.stream("POST", path, json=body) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_raw():
            seen += chunk
            if first is None and first_mark in seen:
                first = time.perf_counter()
    done = time.perf_counter()
    assert end_mark in seen, f"{variant}: the stream did not end well: {seen[-300:]!r}"
    assert first is not None
    return (first - started) * 1000, (done - started) * 1000


def _config(directory: Path, upstream: str | None) -> None:
    (directory / "users.yml").write_text(
        f'users:\n  - token: "{KEY}"\n    name: bench\n    permissions: "*"\n'
    )
    if upstream:
        (directory / "models.yml").write_text(
            "models:\n  - id: fake\n    provider: openai\n    upstream_model: fake-model\n"
            f"    base_url: {upstream}/v1\n    api_key: sk-up\n"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--model", default="local-echo")
    parser.add_argument("--upstream", action="store_true", help="through the fake OpenAI upstream")
    args = parser.parse_args()
    prepare_process(client_cpu=1)
    gateway_cpu = "0" if cores() >= 2 else "0-1"
    work = Path(tempfile.mkdtemp(prefix="bench-responses-"))
    services: list[Service] = []
    upstream = None
    model = args.model
    if args.upstream:
        port = free_port()
        services.append(
            Service(
                "fake-openai",
                [sys.executable, "-m", "continuum.testing", "fake-openai", "--port", str(port)],
                port,
                gateway_cpu,
            ).start()
        )
        upstream, model = f"http://127.0.0.1:{port}", "fake"
    _config(work, upstream)
    port = free_port()
    gateway = Service(
        "gateway",
        [sys.executable, "-m", "continuum", "serve", "--port", str(port),
         "--config-dir", str(work), "--data-dir", str(work)],
        port,
        gateway_cpu,
        log=work / "gateway.log",
    )  # fmt: skip
    services.append(gateway.start())
    try:
        headers = {"authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            for variant in VARIANTS * 20:  # warm up every path
                _once(client, variant, model)
            first: dict[str, list[float]] = {v: [] for v in VARIANTS}
            total: dict[str, list[float]] = {v: [] for v in VARIANTS}
            order = list(VARIANTS)
            for _ in range(args.rounds):
                random.shuffle(order)
                for variant in order:
                    ttft, whole = _once(client, variant, model)
                    first[variant].append(ttft)
                    total[variant].append(whole)
    finally:
        for service in services:
            service.stop()
    chat_first = statistics.median(first["chat"])
    chat_total = statistics.median(total["chat"])
    print(f"model {model}, {args.rounds} rounds, medians in ms (one request at a time)")
    print(
        f"{'variant':<24}{'first delta':>12}{'added':>9}{'ratio':>7}"
        f"{'whole':>9}{'added':>9}{'ratio':>7}"
    )
    for variant in VARIANTS:
        f, t = statistics.median(first[variant]), statistics.median(total[variant])
        print(
            f"{variant:<24}{f:>12.3f}{f - chat_first:>+9.3f}{f / chat_first:>7.2f}"
            f"{t:>9.3f}{t - chat_total:>+9.3f}{t / chat_total:>7.2f}"
        )


if __name__ == "__main__":
    main()
