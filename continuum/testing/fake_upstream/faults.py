"""Fault injection for the fake upstreams.

A fault is written as ``key=value`` pairs joined by ``,`` (or ``;``), for example
``status=503`` or ``latency=0.2,chunk_delay=0.01,drop_after=3``. It can be given

* per server (``FakeUpstream(fault=...)``, or ``server.fault = ...`` while it runs),
* as a script of the next N requests (``server.script(Fault(status=503), times=2)``),
* per request in the header ``x-fake-fault``,
* per request as a model-name suffix after ``::`` (``gpt-fake::status=429``), which
  reaches the fake through a gateway that does not forward custom headers.

Later sources override earlier ones field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

HEADER = "x-fake-fault"
MODEL_SEPARATOR = "::"


@dataclass(frozen=True, slots=True)
class Fault:
    """What to break in one answer. ``None`` fields leave behaviour normal.

    * ``status``: answer with this HTTP status and the flavour's error body.
    * ``latency``: seconds before the first byte of the response.
    * ``chunk_delay``: seconds before each streamed chunk.
    * ``drop_after``: close the connection after this many chunks (0: before any body).
    * ``malformed_after``: send a malformed chunk after this many good chunks.
    * ``wrong_shape_after``: send valid JSON of the wrong shape after this many chunks.
    * ``drip``: seconds between single bytes of the response (a slow drip).
    * ``chunks``: the number of content chunks in the answer.
    """

    status: int | None = None
    latency: float | None = None
    chunk_delay: float | None = None
    drop_after: int | None = None
    malformed_after: int | None = None
    wrong_shape_after: int | None = None
    drip: float | None = None
    chunks: int | None = None

    def merge(self, other: Fault | None) -> Fault:
        """This fault with the fields ``other`` sets replacing ours."""
        if other is None:
            return self
        changes = {f.name: getattr(other, f.name) for f in fields(other)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def slow(self) -> bool:
        """True when the answer cannot be written in one go."""
        return bool(
            self.latency
            or self.chunk_delay
            or self.drip
            or self.drop_after is not None
            or self.malformed_after is not None
            or self.wrong_shape_after is not None
        )

    @classmethod
    def parse(cls, text: str) -> Fault:
        """Parse ``key=value`` pairs; raises ``ValueError`` naming a bad pair."""
        kinds = {f.name: f.type for f in fields(cls)}
        values: dict[str, int | float] = {}
        for pair in text.replace(";", ",").split(","):
            if not pair.strip():
                continue
            key, sep, raw = pair.partition("=")
            key = key.strip()
            if not sep or key not in kinds:
                raise ValueError(f"unknown fault {pair.strip()!r}; use {', '.join(kinds)}")
            kind = kinds[key]
            values[key] = int(raw) if "int" in str(kind) else float(raw)
        return cls(**values)  # type: ignore[arg-type]


def split_model(model: str) -> tuple[str, Fault | None]:
    """``"gpt-fake::status=503"`` -> ``("gpt-fake", Fault(status=503))``."""
    name, sep, spec = model.partition(MODEL_SEPARATOR)
    return (name, Fault.parse(spec)) if sep else (model, None)
