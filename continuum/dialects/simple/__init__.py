"""Seed 001's simple prompt API: ``{"prompt", "user_id"}`` in, ``{"response", "usage"}`` out."""
