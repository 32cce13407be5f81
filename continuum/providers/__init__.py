"""Provider adapters: each turns a ``ChatRequest`` into a stream of core events."""
