"""Agents: a model, a system prompt and tools, run in a loop until the model answers."""
