"""The connector contracts: a Source reads the field, a Sink writes back to it.

A Source yields :class:`Delivery` objects: the points it could read, as a PointBatch, and the raw
inputs it could not, as dead-letter rows with their reason. A :class:`FieldSource` (MQTT, OPC UA,
Modbus, ...) knows series by path rather than id: it yields :class:`FieldDelivery` objects whose
readings the central side resolves (see :mod:`valueloop.ingest.resolve`), so that the same
connector runs at the edge, which has no asset model. Connectors register by entry point group
``valueloop.connectors``; a field connector class has a ``spec_model`` (its pydantic configuration)
and is built from a validated spec.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import pyarrow as pa

from valueloop.connectors.spec import ConnectorSpec, PointMap
from valueloop.connectors.status import ConnectorStatus
from valueloop.errors import ConfigError
from valueloop.plugins import entry_points
from valueloop.schema import DEAD_LETTER_SCHEMA, READING_SCHEMA


@dataclass(frozen=True)
class Delivery:
    """What a source read in one step: storable points and unreadable inputs."""

    points: pa.Table
    rejected: pa.Table = field(default_factory=DEAD_LETTER_SCHEMA.empty_table)


@dataclass(frozen=True)
class SetpointWrite:
    """A command to the field: set the set-point ``series`` (its full path) to ``value``.

    ``value`` is in the set-point's unit (the sink applies its mapping's scale and offset);
    ``reference`` is the execution id, carried to the device where the protocol allows it (the
    MQTT correlation id), so that a command and its confirmation can be matched.
    """

    series: str
    value: float
    reference: str


@dataclass(frozen=True)
class WriteResult:
    """The field's answer to one :class:`SetpointWrite`: accepted or not, and why."""

    reference: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ReadBack:
    """The value a set-point holds now, in its unit; ``None`` with the reason when unknown."""

    series: str
    value: float | None
    detail: str = ""


class Source(Protocol):
    """A field source of points."""

    name: str

    def deliveries(self) -> AsyncIterator[Delivery]:
        """Yield deliveries until the source is exhausted or stopped."""
        ...


@dataclass(frozen=True)
class FieldDelivery:
    """What a field source read in one step: readings by series path, and unreadable inputs."""

    readings: pa.Table
    rejected: pa.Table = field(default_factory=DEAD_LETTER_SCHEMA.empty_table)


class FieldSource(Protocol):
    """A connector reading the field, configured by a spec of its own ``spec_model``.

    ``deliveries`` runs until :meth:`stop` (reconnecting by itself when the link drops), and
    ``status`` tells at any time whether it is connected, when it last received and how much.
    """

    spec_model: ClassVar[type[ConnectorSpec]]
    name: str

    def deliveries(self) -> AsyncIterator[FieldDelivery]:
        """Yield deliveries until stopped."""
        ...

    def mappings(self) -> Sequence[tuple[str, PointMap]]:
        """Every series the connector can deliver: its full path and mapping."""
        ...

    def status(self) -> ConnectorStatus:
        """The connector's health now."""
        ...

    async def stop(self) -> None:
        """Stop reading and release the connection; ``deliveries`` then ends."""
        ...


class Sink(Protocol):
    """A connector's set-points, written only through the approval path of act/.

    ``targets`` are the full series paths of the set-points the sink can write. ``read`` and
    ``write`` may each be called from a different event loop (the engine runs one per step), so a
    sink keeps no loop-bound object between calls; a background thread of its own (paho's network
    loop) is fine. A failure is a result (``ok=False`` or ``value=None`` with the reason), never an
    exception.
    """

    name: str

    def targets(self) -> Sequence[str]:
        """The series paths of every set-point this sink writes."""
        ...

    async def read(self, series: Sequence[str]) -> Sequence[ReadBack]:
        """The value each set-point holds now, as the field reports it."""
        ...

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Apply ``writes`` in order and report each outcome."""
        ...

    async def close(self) -> None:
        """Release connections and threads; the sink is not used afterwards."""
        ...


def readings(
    series: Sequence[str], ts: pa.Array, values: pa.Array, quality: pa.Array | None = None
) -> pa.Table:
    """A readings table (:data:`~valueloop.schema.READING_SCHEMA`); quality defaults to good."""
    if quality is None:
        quality = pa.array([0] * len(series), pa.uint8())
    return pa.table(
        {"series": pa.array(series, pa.string()), "ts": ts, "value": values, "quality": quality},
        schema=READING_SCHEMA,
    )


def connector_class(kind: str) -> type:
    """The connector class registered under ``kind`` in ``valueloop.connectors``."""
    for entry in entry_points(group="valueloop.connectors"):
        if entry.name == kind:
            loaded = entry.load()
            if isinstance(loaded, type):
                return loaded
    known = sorted(entry.name for entry in entry_points(group="valueloop.connectors"))
    raise ConfigError(f"unknown connector kind {kind!r}; installed: {', '.join(known) or 'none'}")


def sink_for(spec: ConnectorSpec) -> Sink | None:
    """The set-point sink of a connector spec, or None when its kind writes nothing.

    Sinks register by entry point group ``valueloop.sinks`` under their connector's kind and are
    built from the same validated spec as the connector that reads.
    """
    for entry in entry_points(group="valueloop.sinks"):
        if entry.name == spec.kind:
            sink: Sink = entry.load()(spec)
            return sink
    return None
