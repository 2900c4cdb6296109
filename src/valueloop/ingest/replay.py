"""Replaying dead letters once the cause is fixed (a series registered, a mapping corrected).

A letter whose raw text is a reading the platform wrote itself (an unknown series path, see
:func:`valueloop.ingest.resolve.reading_text`) is parsed back as a reading; any other letter is
handed to the connector that produced it, if that connector can re-read its raw inputs (a
``reparse(raw, reason) -> FieldDelivery`` method, built from the site's current configuration, so
a fixed mapping applies; the reason tells where the input came from, such as its MQTT topic). A
letter is marked replayed only when its input is now stored; the rest stay pending, with their
original reason, for the next attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.connectors.base import FieldDelivery, readings
from valueloop.connectors.spec import ConnectorSpec
from valueloop.ingest.pipeline import IngestPipeline

Reparse = Callable[[str, str], FieldDelivery]


@dataclass(frozen=True)
class ReplayReport:
    """What a replay did: letters examined, replayed (now stored) and left pending."""

    examined: int
    replayed: int
    pending: int
    readings_stored: int


def _reading(raw: str | None) -> dict[str, Any] | None:
    """A reading written by :func:`reading_text`, or None if ``raw`` is something else."""
    if raw is None:
        return None
    try:
        item = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(item, dict) or set(item) != {"series", "ts", "value", "quality"}:
        return None
    return item


def reparsers(
    specs: Sequence[ConnectorSpec], build: Callable[[ConnectorSpec], object]
) -> dict[str, Reparse]:
    """The ``reparse`` of each configured connector that has one, by connector name."""
    found: dict[str, Reparse] = {}
    for spec in specs:
        connector = build(spec)
        method = getattr(connector, "reparse", None)
        if callable(method):
            found[spec.name] = method
    return found


def replay_dead_letters(
    pipeline: IngestPipeline, reparse: dict[str, Reparse], *, source: str | None = None
) -> ReplayReport:
    """Try every pending letter (of ``source``, or all) again; mark those now stored."""
    letters = pipeline.dead_letters.pending(source).to_pylist()
    replayed: list[int] = []
    stored = 0
    for letter in letters:
        delivery = _delivery(letter, reparse)
        if delivery is None or delivery.rejected.num_rows or delivery.readings.num_rows == 0:
            continue
        ids = pipeline.registry.resolve(delivery.readings.column("series").combine_chunks())
        if pc.any(pc.is_null(ids)).as_py():
            continue
        report = pipeline.ingest_readings(delivery, letter["source"])
        stored += report.points_inserted + report.points_replaced
        replayed.append(letter["letter_id"])
    pipeline.dead_letters.mark_replayed(replayed)
    return ReplayReport(
        examined=len(letters),
        replayed=len(replayed),
        pending=len(letters) - len(replayed),
        readings_stored=stored,
    )


def _delivery(letter: dict[str, Any], reparse: dict[str, Reparse]) -> FieldDelivery | None:
    item = _reading(letter["raw"])
    if item is not None:
        return FieldDelivery(
            readings=readings(
                [item["series"]],
                pa.array([datetime.fromisoformat(item["ts"])], pa.timestamp("us", tz="UTC")),
                pa.array([item["value"]], pa.float64()),
                pa.array([item["quality"]], pa.uint8()),
            )
        )
    method = reparse.get(letter["source"])
    if method is None or letter["raw"] is None:
        return None
    try:
        return method(letter["raw"], letter["reason"])
    except Exception:  # a letter that still cannot be read stays pending, with its reason
        return None
