"""Seed 001's example user validator, named by ``CONTINUUM_USER_VALIDATOR`` in tests."""

from __future__ import annotations


def seed_validator(user_id: str) -> bool | str:
    """``user_*`` is valid, ``admin_*`` is valid as ``user_*``, anything else is not."""
    if user_id.startswith("user_"):
        return True
    if user_id.startswith("admin_"):
        return f"user_{user_id[6:]}"
    return False
