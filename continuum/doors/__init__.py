"""Doors: thin transports that decode into the core request and encode core events."""
