"""Which deployments are healthy: consecutive failures put a deployment in cooldown.

A deployment that fails ``threshold`` times in a row is skipped for ``cooldown``
seconds; after that it is tried again (half-open), and one success clears it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _State:
    failures: int = 0
    cooling_until: float = 0.0


class Health:
    """Consecutive failures per deployment, and which deployments are cooling down."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._states: dict[str, _State] = {}

    def available(self, deployment: str) -> bool:
        state = self._states.get(deployment)
        return state is None or state.cooling_until <= self._clock()

    def cooling_until(self, deployment: str) -> float:
        state = self._states.get(deployment)
        return state.cooling_until if state else 0.0

    def failed(self, deployment: str) -> bool:
        """Count a failure; True when it puts the deployment in cooldown."""
        state = self._states.setdefault(deployment, _State())
        state.failures += 1
        if state.failures >= self.threshold:
            state.cooling_until = self._clock() + self.cooldown
            state.failures = 0
            return True
        return False

    def succeeded(self, deployment: str) -> None:
        self._states.pop(deployment, None)
