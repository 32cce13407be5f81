"""Wire dialects: how each API family spells requests, stream events and errors.

A dialect knows shapes, not transports: the OpenAI chunk objects are the same bytes
whether an SSE writer frames them as ``data:`` lines or a WebSocket sends each as a
message.
"""
