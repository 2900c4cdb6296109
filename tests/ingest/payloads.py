"""Arrow IPC bodies for ingest tests: readings, streams of them, and a decompression bomb."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow as pa

from valueloop.schema import READING_SCHEMA

FLOW = "plant/utilities/loop-1/pump-1/flow"
MARCH_US = int(datetime(2026, 3, 1, 10, tzinfo=UTC).timestamp() * 1_000_000)


def readings_table(
    rows: int, *, micros: int = MARCH_US, series: pa.Array | None = None
) -> pa.Table:
    """``rows`` readings (of FLOW unless ``series`` says), all at ``micros`` (µs since 1970)."""
    return pa.table(
        {
            "series": pa.array([FLOW] * rows, pa.string()) if series is None else series,
            "ts": pa.array([micros] * rows, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "value": pa.array([1.0] * rows),
            "quality": pa.array([0] * rows, pa.uint8()),
        },
        schema=READING_SCHEMA,
    )


def stream(tables: list[pa.Table], *, compression: str | None = "zstd") -> bytes:
    """An Arrow IPC stream of ``tables``, one record batch each."""
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, READING_SCHEMA, options=options) as writer:
        for table in tables:
            writer.write_table(table)
    return sink.getvalue()


def bomb(decoded_bytes: int) -> bytes:
    """One zstd record batch of a few tens of KiB whose series text decompresses to about
    ``decoded_bytes``."""
    rows = 1000
    width = decoded_bytes // rows
    series = pa.StringArray.from_buffers(
        rows,
        pa.array(range(0, (rows + 1) * width, width), pa.int32()).buffers()[1],
        pa.py_buffer(b"a" * (rows * width)),
    )
    return stream([readings_table(rows, series=series)])
