"""The WebSocket doors: OpenAI chat (seed 000) and the prompt API (seed 001), over one kit."""
