"""The completion callback of a stream (seed 002): one signed delivery per stream.

    outbox = RedisOutbox(redis)  or  SqlOutbox(database)   # durable, leased
    sender = Sender(Signer(webhook_secret), timeout=15, allow_private=False)
    worker = DeliveryWorker(outbox, sender)                # one per replica
    worker.start() ... await worker.stop()

Deliveries are written by the session store in the same step as the stream's end
(``MemorySessionStore(outbox=…)``, ``RedisSessionStore(outbox=…)``); admins list the
ones given up with ``outbox.exhausted()`` and retry one with ``outbox.requeue(id)``.
"""
