"""The ingest pipeline: from a source's deliveries, through validation, into the store.

Each delivery's points are validated; good rows are written in one transaction, rows that fail and
inputs the source could not read go to the dead-letter table with their reason. Nothing is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from valueloop.connectors.base import Delivery, FieldDelivery, Source
from valueloop.ingest.arrivals import Arrivals
from valueloop.ingest.deadletter import DeadLetterTable, rejected_points_as_dead_letters
from valueloop.ingest.resolve import resolve_readings
from valueloop.ingest.validate import validate_points
from valueloop.model.assets import SeriesRegistry
from valueloop.store.base import TimeSeriesStore


@dataclass
class IngestReport:
    """Running totals of an ingest."""

    deliveries: int = 0
    points_received: int = 0
    points_inserted: int = 0
    points_replaced: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    sources: set[str] = field(default_factory=set)

    @property
    def points_per_second(self) -> float:
        """Points received per second of ingest."""
        return self.points_received / self.seconds if self.seconds > 0 else 0.0


class IngestPipeline:
    """Validate deliveries and store them, dead-lettering what cannot be stored."""

    def __init__(
        self, points: TimeSeriesStore, registry: SeriesRegistry, dead_letters: DeadLetterTable
    ) -> None:
        self.points = points
        self.registry = registry
        self.dead_letters = dead_letters
        self.arrivals = Arrivals()

    def ingest(
        self, delivery: Delivery, source: str, report: IngestReport | None = None
    ) -> IngestReport:
        """Store one delivery; add its counts to ``report`` (a new one if not given)."""
        report = report if report is not None else IngestReport()
        started = time.perf_counter()
        validated = validate_points(delivery.points, self.registry.known_ids())
        written = self.points.write(validated.points)
        self.arrivals.record(validated.points)
        dead = delivery.rejected
        if validated.rejected.num_rows:
            self.dead_letters.add(rejected_points_as_dead_letters(source, validated.rejected))
        report.dead_letters += self.dead_letters.add(dead) + validated.rejected.num_rows
        report.deliveries += 1
        report.points_received += delivery.points.num_rows
        report.points_inserted += written.inserted
        report.points_replaced += written.replaced
        report.seconds += time.perf_counter() - started
        report.sources.add(source)
        return report

    def ingest_readings(
        self, delivery: FieldDelivery, source: str, report: IngestReport | None = None
    ) -> IngestReport:
        """Store one delivery of readings named by series path; unknown paths are dead-lettered."""
        resolved = resolve_readings(delivery.readings, self.registry, source)
        rejected = pa.concat_tables([delivery.rejected, resolved.rejected])
        return self.ingest(Delivery(points=resolved.points, rejected=rejected), source, report)

    async def run(
        self, source: Source, on_delivery: Callable[[IngestReport], None] | None = None
    ) -> IngestReport:
        """Consume ``source`` to its end."""
        report = IngestReport()
        async for delivery in source.deliveries():
            self.ingest(delivery, source.name, report)
            if on_delivery is not None:
                on_delivery(report)
        return report
