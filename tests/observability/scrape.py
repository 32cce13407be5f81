"""Reading a Prometheus text exposition back into numbers, for assertions."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """Samples of one exposition, looked up by name and a subset of labels."""

    def __init__(self, text: str | bytes):
        if isinstance(text, bytes):
            text = text.decode()
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (sample.name, dict(sample.labels), sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
        return sum(
            value
            for sample, have, value in self.samples
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        )

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _, _ in self.samples)
