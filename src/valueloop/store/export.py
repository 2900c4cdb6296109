"""Exported points that name their series: each row's path and unit beside its id.

A bare PointBatch file is only readable with the site's catalogue at hand. :func:`label_points`
rewrites one, batch by batch (memory bounded by a row group, not the file), with the ``path`` and
``unit`` of each series from the catalogue; a series the catalogue does not know has them null.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valueloop.schema import POINT_SCHEMA

EXPORT_SCHEMA = pa.schema(
    [
        POINT_SCHEMA.field("series_id"),
        pa.field("path", pa.string()),
        pa.field("unit", pa.string()),
        *(POINT_SCHEMA.field(name) for name in ("ts", "value", "quality")),
    ]
)
"""The columns of an export: the PointBatch's, with the series' path and unit after its id."""


def label_points(points: Path, target: Path, catalogue: pa.Table) -> int:
    """Write the points of the Parquet file ``points`` to ``target`` (zstd) with the ``path`` and
    ``unit`` of each series from ``catalogue`` (``series_id``, ``path``, ``unit``); return how
    many points were written."""
    ids = catalogue.column("series_id").combine_chunks().cast(pa.int32())
    paths = catalogue.column("path").combine_chunks().cast(pa.string())
    units = catalogue.column("unit").combine_chunks().cast(pa.string())
    written = 0
    with pq.ParquetWriter(target, EXPORT_SCHEMA, compression="zstd") as writer:
        for batch in pq.ParquetFile(points).iter_batches():
            where = pc.index_in(batch.column("series_id"), value_set=ids)
            labelled = pa.RecordBatch.from_arrays(
                [
                    batch.column("series_id"),
                    pc.take(paths, where),
                    pc.take(units, where),
                    batch.column("ts"),
                    batch.column("value"),
                    batch.column("quality"),
                ],
                schema=EXPORT_SCHEMA,
            )
            writer.write_batch(labelled)
            written += labelled.num_rows
    return written
