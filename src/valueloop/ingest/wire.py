"""Readings on the wire: JSON, CSV and Arrow IPC bodies of the HTTP ingest and the edge.

Every format carries the reading columns ``series`` (full path ``site/area/line/asset/signal``),
``ts`` (ISO 8601 with a zone, or epoch milliseconds as a number), ``value`` (a number, or null)
and, optionally, ``quality`` (0 good, 1 uncertain, 2 bad; default 0).

- JSON: ``{"readings": [{"series": ..., "ts": ..., "value": ...}, ...]}`` or the bare list.
- CSV: a header line naming the columns, then one reading per line.
- Arrow IPC stream (``application/vnd.apache.arrow.stream``): a table in READING_SCHEMA, as the
  edge sends it.

A malformed body raises :class:`~valueloop.errors.DataError` naming the row and field.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from valueloop.errors import DataError
from valueloop.schema import READING_SCHEMA

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
ARROW_TYPE = "application/vnd.apache.arrow.stream"
MAX_READINGS = 1_000_000
"""Most readings accepted in one body; larger batches should be split by the sender."""


def _timestamp(value: Any, row: int) -> datetime:
    if isinstance(value, bool):
        raise DataError(f"reading {row}: ts must be ISO 8601 text or epoch milliseconds")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000.0, UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as err:
            raise DataError(f"reading {row}: ts {value!r} is not ISO 8601") from err
        if moment.tzinfo is None:
            raise DataError(f"reading {row}: ts {value!r} has no time zone; add Z or +00:00")
        return moment.astimezone(UTC)
    raise DataError(f"reading {row}: ts must be ISO 8601 text or epoch milliseconds")


def _number(value: Any, row: int, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"reading {row}: {name} must be a number, got {value!r}")
    return float(value)


def _reading(item: Any, row: int) -> tuple[str, datetime, float | None, int]:
    if not isinstance(item, dict):
        raise DataError(f"reading {row}: expected an object with series, ts and value")
    missing = [key for key in ("series", "ts", "value") if key not in item]
    if missing:
        raise DataError(f"reading {row}: missing {', '.join(missing)}")
    unknown = sorted(set(item) - {"series", "ts", "value", "quality"})
    if unknown:
        raise DataError(f"reading {row}: unexpected fields {', '.join(unknown)}")
    series = item["series"]
    if not isinstance(series, str) or not series:
        raise DataError(f"reading {row}: series must be a series path such as site/area/line/a/s")
    quality = item.get("quality", 0)
    if quality not in (0, 1, 2) or isinstance(quality, bool):
        raise DataError(f"reading {row}: quality must be 0, 1 or 2, got {quality!r}")
    return series, _timestamp(item["ts"], row), _number(item["value"], row, "value"), quality


def readings_from_json(body: bytes) -> pa.Table:
    """Parse a JSON body of readings."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"the body is not valid JSON: {err}") from err
    items = document.get("readings") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise DataError('expected {"readings": [...]} or a list of readings')
    if len(items) > MAX_READINGS:
        raise DataError(f"{len(items)} readings in one body; send at most {MAX_READINGS}")
    rows = [_reading(item, row) for row, item in enumerate(items, start=1)]
    if not rows:
        return READING_SCHEMA.empty_table()
    series, ts, values, quality = zip(*rows, strict=True)
    return pa.table(
        {
            "series": pa.array(series, pa.string()),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "value": pa.array(values, pa.float64()),
            "quality": pa.array(quality, pa.uint8()),
        },
        schema=READING_SCHEMA,
    )


def _csv_ts(column: pa.ChunkedArray) -> pa.Array:
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            raise DataError("CSV ts has no time zone; write e.g. 2026-01-01T00:00:00Z")
        return column.cast(pa.timestamp("us", tz="UTC"))
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        micros = pc.multiply(column.cast(pa.float64()), 1000.0).cast(pa.int64())
        return micros.cast(pa.timestamp("us", tz="UTC"))
    raise DataError("CSV ts must be ISO 8601 with a time zone or epoch milliseconds")


def readings_from_csv(body: bytes) -> pa.Table:
    """Parse a CSV body of readings (header ``series,ts,value[,quality]``)."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            convert_options=pacsv.ConvertOptions(
                column_types={"series": pa.string(), "value": pa.float64(), "quality": pa.uint8()},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise DataError(f"the CSV body cannot be read: {err}") from err
    missing = [name for name in ("series", "ts", "value") if name not in table.column_names]
    if missing:
        raise DataError(f"the CSV header lacks {', '.join(missing)}")
    unknown = sorted(set(table.column_names) - set(READING_SCHEMA.names))
    if unknown:
        raise DataError(f"the CSV has unexpected columns {', '.join(unknown)}")
    quality = (
        table.column("quality")
        if "quality" in table.column_names
        else pa.array([0] * table.num_rows, pa.uint8())
    )
    if pc.any(pc.greater(quality, 2)).as_py():
        raise DataError("CSV quality must be 0, 1 or 2")
    return pa.table(
        {
            "series": table.column("series"),
            "ts": _csv_ts(table.column("ts")),
            "value": table.column("value"),
            "quality": quality,
        },
        schema=READING_SCHEMA,
    )


def readings_to_arrow(readings: pa.Table) -> bytes:
    """An Arrow IPC stream of ``readings`` (zstd-compressed), the edge's wire format."""
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, READING_SCHEMA, options=options) as writer:
        writer.write_table(readings.cast(READING_SCHEMA))
    return sink.getvalue()


def readings_from_arrow(body: bytes) -> pa.Table:
    """Parse an Arrow IPC stream of readings."""
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"the body is not an Arrow IPC stream: {err}") from err
    if not table.schema.equals(READING_SCHEMA):
        raise DataError(f"the Arrow stream's schema is {table.schema}, expected {READING_SCHEMA}")
    return table


def parse_readings(body: bytes, content_type: str) -> pa.Table:
    """Parse a body by its media type (JSON, CSV or Arrow IPC stream)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON_TYPE:
        return readings_from_json(body)
    if media == CSV_TYPE:
        return readings_from_csv(body)
    if media == ARROW_TYPE:
        return readings_from_arrow(body)
    raise DataError(f"content type {media!r} is not one of {JSON_TYPE}, {CSV_TYPE}, {ARROW_TYPE}")
