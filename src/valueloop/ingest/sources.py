"""Field sources feeding a site directly: their series declared as they name them, then stored.

A connector with templated mappings (``plant/{asset}/{signal}``) learns its series from the
messages; each is declared in the asset model (with the mapping's unit and description) before the
first delivery carrying it is stored, so that no reading of a mapped topic is refused as unknown.
When the site describes its assets, only series of its assets' signals are declared (``known``):
a template that captures an asset or signal the site does not have sends its readings to the
dead-letter table as unknown series, rather than inventing a series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from valueloop.connectors.base import FieldDelivery, FieldSource
from valueloop.ingest.batches import KeyedIngest
from valueloop.ingest.pipeline import IngestPipeline, IngestReport


class SourceIngest:
    """Store the deliveries of ``sources`` in a site, declaring their series first."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        batches: KeyedIngest,
        sources: Sequence[FieldSource],
        *,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        self.known = known
        self.pipeline = pipeline
        self.batches = batches
        self.sources = {source.name: source for source in sources}
        self._declared: set[str] = set()
        for source in sources:
            self.declare(source)

    def declare(self, source: FieldSource) -> None:
        """Register the series ``source`` names that were not declared yet."""
        new = [
            (path, mapping.unit, mapping.description)
            for path, mapping in source.mappings()
            if path not in self._declared and (self.known is None or self.known(path))
        ]
        if new:
            self.batches.register(new)
            self._declared.update(path for path, _, _ in new)

    def keep(self, name: str, delivery: FieldDelivery) -> IngestReport:
        """Store one delivery of the source ``name``."""
        self.declare(self.sources[name])
        return self.pipeline.ingest_readings(delivery, name)
