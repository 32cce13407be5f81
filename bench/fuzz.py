"""Schemathesis over ``/openapi.json`` of a real gateway: no response of 500 or more.

    .venv/bin/python -m bench.fuzz [--seconds 120] [--seed N]

Starts ``continuum serve`` (the local models; a ``users.yml`` admin user whose key
every request carries; stream sessions and callbacks configured), then runs ``st run``
with positive and negative generation over every operation (examples, coverage, fuzzing
and stateful phases) until ``--seconds`` are spent, the chat route's ``model`` pinned to
served ids (``bench/schemathesis_hooks.py``).
Checks: ``not_a_server_error`` (no 5xx from the gateway itself) and
``status_code_conformance`` (every status is one the route documents). Exits with
``st``'s status; ``tests/e2e/test_fuzz.py`` runs it for a few seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from continuum.testing.process import gateway_process

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-fuzz-admin-00000000000001"
CHECKS = "not_a_server_error,status_code_conformance"


def fuzz(
    seconds: float, seed: int | None = None, workers: int = 2
) -> subprocess.CompletedProcess[str]:
    """One bounded ``st run`` against a fresh gateway; its output and exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: fuzz, permissions: "*", admin: true}}\n'
        )
        args = ("--config-dir", str(config), "--data-dir", str(config / "data"))
        # Streams and their callbacks configured, so their routes are fuzzed as they serve
        # (without the secrets they only answer 503 not_configured).
        secrets = {
            "CONTINUUM_JWT_SECRET": "fuzz-jwt-secret-" + "0" * 48,
            "CONTINUUM_WEBHOOK_SECRET": "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        }
        with gateway_process(*args, env=secrets) as gateway:
            command = [
                str(Path(sys.executable).parent / "st"),
                "run",
                f"{gateway.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {KEY}",
                "--checks",
                CHECKS,
                "--max-time",
                str(max(1, int(seconds))),
                "--workers",
                str(workers),
                "--no-color",
                "--generation-database",
                "none",
            ]
            if seed is not None:
                command += ["--seed", str(seed)]
            env = {**os.environ, "SCHEMATHESIS_HOOKS": "bench.schemathesis_hooks"}
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
            # In the temporary directory: st keeps a cache (.schemathesis/) where it runs.
            return subprocess.run(
                command, cwd=tmp, env=env, capture_output=True, text=True, timeout=seconds + 120
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    done = fuzz(args.seconds, args.seed)
    print(done.stdout[-6000:], done.stderr[-2000:], sep="\n")
    sys.exit(done.returncode)
