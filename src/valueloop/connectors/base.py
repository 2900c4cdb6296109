"""The connector contracts: a Source reads the field, a Sink writes back to it.

A Source yields :class:`Delivery` objects: the points it could read, as a PointBatch, and the raw
inputs it could not, as dead-letter rows with their reason. Connectors register by entry point
group ``valueloop.connectors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Protocol

import pyarrow as pa

from valueloop.errors import ConfigError
from valueloop.schema import DEAD_LETTER_SCHEMA


@dataclass(frozen=True)
class Delivery:
    """What a source read in one step: storable points and unreadable inputs."""

    points: pa.Table
    rejected: pa.Table = field(default_factory=DEAD_LETTER_SCHEMA.empty_table)


@dataclass(frozen=True)
class SetpointWrite:
    """A command to the field: set ``signal`` of ``asset`` to ``value`` at ``at``."""

    asset: str
    signal: str
    value: float
    at: datetime
    reference: str


@dataclass(frozen=True)
class WriteResult:
    """The field's answer to one :class:`SetpointWrite`."""

    reference: str
    ok: bool
    detail: str


class Source(Protocol):
    """A field source of points."""

    name: str

    def deliveries(self) -> AsyncIterator[Delivery]:
        """Yield deliveries until the source is exhausted or stopped."""
        ...


class Sink(Protocol):
    """A field destination for set-point writes (used only through the approval path of act/)."""

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Apply ``writes`` and report each outcome."""
        ...


def connector_class(kind: str) -> type:
    """The connector class registered under ``kind`` in ``valueloop.connectors``."""
    for entry in entry_points(group="valueloop.connectors"):
        if entry.name == kind:
            loaded = entry.load()
            if isinstance(loaded, type):
                return loaded
    known = sorted(entry.name for entry in entry_points(group="valueloop.connectors"))
    raise ConfigError(f"unknown connector kind {kind!r}; installed: {', '.join(known) or 'none'}")
