"""A ledger that keeps nothing, for embedding Continuum where usage is not wanted."""

from __future__ import annotations

from continuum.core.ports import UsageRecord


class DiscardLedger:
    def record(self, entry: UsageRecord) -> None:
        return None
