"""The Anthropic Messages door: its dialect, its SDK over a real socket, every provider behind it."""
