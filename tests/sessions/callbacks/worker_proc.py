"""A delivery worker in a process of its own, for the SIGKILL test.

python -m tests.sessions.callbacks.worker_proc <redis|sqlite|postgres> <url> <prefix|schema>
"""

from __future__ import annotations

import asyncio
import sys

from continuum.sessions.callbacks.sender import Sender
from continuum.sessions.callbacks.signing import Signer
from continuum.sessions.callbacks.worker import DeliveryWorker, RetryPolicy
from tests.sessions.callbacks.conftest import SECRET, Outboxes

TIMEOUT = 2.0
LEASE = 2.5


async def main(kind: str, target: str, name: str) -> None:
    outbox = await Outboxes(kind, target, name).make()
    sender = Sender(Signer(SECRET), timeout=TIMEOUT, allow_private=True)
    worker = DeliveryWorker(
        outbox, sender, worker_id="doomed", lease=LEASE, poll=0.05, policy=RetryPolicy((0.05,))
    )
    worker.start()
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
