"""Readings on the wire: JSON, CSV and Arrow IPC bodies of the HTTP ingest and the edge.

Every format carries the reading columns ``series`` (full path ``site/area/line/asset/signal``),
``ts`` (ISO 8601 with a zone, or epoch milliseconds as a number), ``value`` (a number, or null)
and, optionally, ``quality`` (0 good, 1 uncertain, 2 bad; default 0).

- JSON: ``{"readings": [{"series": ..., "ts": ..., "value": ...}, ...]}`` or the bare list.
- CSV: a header line naming the columns, then one reading per line.
- Arrow IPC stream (``application/vnd.apache.arrow.stream``): a table in READING_SCHEMA, as the
  edge sends it.

A body is untrusted: each format is read within limits checked before the work they bound
(:data:`MAX_BODY_BYTES` and :data:`MAX_READINGS` for all; :data:`MAX_JSON_BYTES`,
:data:`MAX_JSON_DEPTH` and :data:`MAX_JSON_VALUES` for JSON; :data:`MAX_FIELD_CHARS` for text
fields; :data:`MAX_DECODED_BYTES` and :data:`MAX_ARROW_BATCHES` for Arrow). Every timestamp must lie
in 1970-2200, the range the store keeps. A malformed body, or one over a limit, raises
:class:`~valueloop.errors.DataError` naming the row and field, or the limit.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from valueloop.errors import DataError
from valueloop.ingest.ipc_header import batch_cost
from valueloop.ingest.validate import EARLIEST, LATEST
from valueloop.schema import READING_SCHEMA

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
ARROW_TYPE = "application/vnd.apache.arrow.stream"

MAX_BODY_BYTES = 256 * 2**20
"""Largest body accepted in any format, in bytes (256 MiB); a larger one is answered 413."""
MAX_READINGS = 1_000_000
"""Most readings accepted in one body; larger batches should be split by the sender."""
MAX_FIELD_CHARS = 1024
"""Longest text field (a series path, an ISO 8601 time) accepted, in characters."""
MAX_JSON_BYTES = 128 * 2**20
"""Largest JSON body, in bytes (128 MiB); bulk readings are cheaper as CSV or Arrow."""
MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays and objects in a JSON body (a body of readings needs 3)."""
MAX_JSON_VALUES = 6 * MAX_READINGS
"""Most arrays, objects and comma-separated values in a JSON body (a reading takes up to 6)."""
MAX_DECODED_BYTES = 256 * 2**20
"""Most bytes an Arrow stream's batches may take once decompressed (256 MiB)."""
MAX_ARROW_BATCHES = 1000
"""Most record batches in one Arrow stream."""

_CSV_BLOCK_BYTES = 1 << 20
"""Block size of the CSV reader: a line longer than this is refused."""
_EARLIEST_MS = int(EARLIEST.timestamp()) * 1000
_LATEST_MS = int(LATEST.timestamp()) * 1000
_UTC_MICROS = pa.timestamp("us", tz="UTC")


def _shown(value: Any) -> str:
    """``value`` as a message shows it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _timestamp(value: Any, row: int) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _EARLIEST_MS <= value < _LATEST_MS:
            raise DataError(
                f"reading {row}: ts {_shown(value)} is not epoch milliseconds within 1970-2200"
            )
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    if not isinstance(value, str):
        raise DataError(f"reading {row}: ts must be ISO 8601 text or epoch milliseconds")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise DataError(f"reading {row}: ts {_shown(value)} is not ISO 8601") from err
    if moment.tzinfo is None:
        raise DataError(f"reading {row}: ts {value!r} has no time zone; add Z or +00:00")
    if not EARLIEST <= moment < LATEST:
        raise DataError(f"reading {row}: ts {value!r} is outside 1970-2200")
    return moment.astimezone(UTC)


def _number(value: Any, row: int, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"reading {row}: {name} must be a number, got {_shown(value)}")
    try:
        return float(value)
    except OverflowError as err:
        raise DataError(f"reading {row}: {name} {_shown(value)} is too large") from err


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
    if len(series) > MAX_FIELD_CHARS:
        raise DataError(f"reading {row}: series is longer than {MAX_FIELD_CHARS} characters")
    quality = item.get("quality", 0)
    if quality not in (0, 1, 2) or isinstance(quality, bool):
        raise DataError(f"reading {row}: quality must be 0, 1 or 2, got {_shown(quality)}")
    return series, _timestamp(item["ts"], row), _number(item["value"], row, "value"), quality


_QUOTE, _OPEN, _CLOSE, _COMMA = 1, 2, 3, 4
_JSON_CLASS = np.zeros(256, np.uint8)
_JSON_CLASS[ord('"')] = _QUOTE
_JSON_CLASS[[ord("["), ord("{")]] = _OPEN
_JSON_CLASS[[ord("]"), ord("}")]] = _CLOSE
_JSON_CLASS[ord(",")] = _COMMA
_JSON_STEP = np.array([0, 0, 1, -1, 0], np.int64)
_SCAN_BYTES = 1 << 22


def _check_json_shape(body: bytes) -> None:
    """Refuse a JSON text nesting deeper than MAX_JSON_DEPTH or holding more than
    MAX_JSON_VALUES values, by a scan of its bytes that leaves strings out (before decoding)."""
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")  # what is left of '"' delimits strings
    data = np.frombuffer(text, np.uint8)
    inside, depth, deepest, values = 0, 0, 0, 0
    for start in range(0, data.size, _SCAN_BYTES):
        kinds = _JSON_CLASS[data[start : start + _SCAN_BYTES]]
        kinds = kinds[kinds != 0]
        if not kinds.size:
            continue
        parity = np.bitwise_xor.accumulate((kinds == _QUOTE).view(np.uint8)) ^ inside
        inside = int(parity[-1])
        kinds = kinds[parity == 0]
        if not kinds.size:
            continue
        levels = np.cumsum(_JSON_STEP[kinds]) + depth
        deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
        values += int(np.count_nonzero((kinds == _OPEN) | (kinds == _COMMA)))
        if deepest > MAX_JSON_DEPTH:
            raise DataError(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
        if values > MAX_JSON_VALUES:
            raise DataError(
                f"the JSON body holds more than {MAX_JSON_VALUES} values; send at most "
                f"{MAX_READINGS} readings per body"
            )


def readings_from_json(body: bytes) -> pa.Table:
    """Parse a JSON body of readings."""
    if len(body) > MAX_JSON_BYTES:
        raise DataError(
            f"the JSON body has {len(body)} bytes; send at most {MAX_JSON_BYTES} "
            "(or send CSV or Arrow)"
        )
    _check_json_shape(body)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
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
            "ts": pa.array(ts, _UTC_MICROS),
            "value": pa.array(values, pa.float64()),
            "quality": pa.array(quality, pa.uint8()),
        },
        schema=READING_SCHEMA,
    )


def _first(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """The index of the first true value of ``mask`` (nulls count as false), or None."""
    found = pc.index(pc.fill_null(mask, False), True).as_py()
    return None if found < 0 else int(found)


def _check_readings(readings: pa.Table) -> pa.Table:
    """Refuse missing series, times or qualities, overlong series and times outside 1970-2200."""
    for name in ("series", "ts", "quality"):
        row = _first(pc.is_null(readings.column(name)))
        if row is not None:
            raise DataError(f"reading {row + 1}: {name} is missing")
    row = _first(pc.greater(pc.utf8_length(readings.column("series")), MAX_FIELD_CHARS))
    if row is not None:
        raise DataError(f"reading {row + 1}: series is longer than {MAX_FIELD_CHARS} characters")
    ts = readings.column("ts")
    outside = pc.or_(
        pc.less(ts, pa.scalar(EARLIEST, _UTC_MICROS)),
        pc.greater_equal(ts, pa.scalar(LATEST, _UTC_MICROS)),
    )
    row = _first(outside)
    if row is not None:
        raise DataError(f"reading {row + 1}: ts {_shown_ts(ts, row)} is outside 1970-2200")
    return readings


def _shown_ts(ts: pa.ChunkedArray, row: int) -> str:
    """The time at ``row`` in ISO 8601, or in microseconds when Python cannot hold it."""
    try:
        return str(ts[row].as_py().isoformat())
    except (OverflowError, ValueError):
        return f"of {ts.cast(pa.int64())[row].as_py()} microseconds after 1970-01-01"


def _csv_ts(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The CSV ``ts`` column in microseconds UTC, each value checked (1970-2200)."""
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            raise DataError("CSV ts has no time zone; write e.g. 2026-01-01T00:00:00Z")
        return column.cast(_UTC_MICROS, safe=False)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        inside = pc.and_(
            pc.greater_equal(column, _EARLIEST_MS), pc.less(column, _LATEST_MS)
        )  # false for NaN and infinities
        row = _first(pc.invert(inside))
        if row is not None:
            raise DataError(
                f"reading {row + 1}: ts {column[row].as_py()!r} is not epoch milliseconds "
                "within 1970-2200"
            )
        millis = column.cast(pa.float64())  # exact: every time in range is below 2**53 ms
        micros = pc.round(pc.multiply(millis, 1000.0)).cast(pa.int64())
        return micros.cast(_UTC_MICROS)
    if pa.types.is_null(column.type):
        return column.cast(_UTC_MICROS)  # all missing: refused by _check_readings
    stamps = [_timestamp(text, row) for row, text in enumerate(column.to_pylist(), start=1)]
    return pa.chunked_array([pa.array(stamps, _UTC_MICROS)])


def readings_from_csv(body: bytes) -> pa.Table:
    """Parse a CSV body of readings (header ``series,ts,value[,quality]``)."""
    batches = []
    rows = 0
    try:
        reader = pacsv.open_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(
                column_types={"series": pa.string(), "value": pa.float64(), "quality": pa.uint8()},
                strings_can_be_null=False,
            ),
        )
        for batch in reader:
            rows += batch.num_rows
            if rows > MAX_READINGS:
                raise DataError(f"the CSV body has more than {MAX_READINGS} readings; split it")
            batches.append(batch)
        table = pa.Table.from_batches(batches, reader.schema)
        names = table.column_names
    except (pa.ArrowException, UnicodeDecodeError) as err:
        raise DataError(f"the CSV body cannot be read: {err}") from err
    missing = [name for name in ("series", "ts", "value") if name not in names]
    if missing:
        raise DataError(f"the CSV header lacks {', '.join(missing)}")
    unknown = sorted(set(names) - set(READING_SCHEMA.names))
    if unknown:
        raise DataError(f"the CSV has unexpected columns {', '.join(unknown)}")
    quality = (
        table.column("quality")
        if "quality" in names
        else pa.array([0] * table.num_rows, pa.uint8())
    )
    row = _first(pc.greater(quality, 2))
    if row is not None:
        raise DataError(f"reading {row + 1}: quality must be 0, 1 or 2")
    readings = pa.table(
        {
            "series": table.column("series"),
            "ts": _csv_ts(table.column("ts")),
            "value": table.column("value"),
            "quality": quality,
        },
        schema=READING_SCHEMA,
    )
    return _check_readings(readings)


def readings_to_arrow(readings: pa.Table) -> bytes:
    """An Arrow IPC stream of ``readings`` (zstd-compressed), the edge's wire format."""
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, READING_SCHEMA, options=options) as writer:
        writer.write_table(readings.cast(READING_SCHEMA))
    return sink.getvalue()


def _arrow_batches(messages: pa.ipc.MessageReader) -> list[pa.RecordBatch]:
    """Decode the stream's record batches one by one, each only once its header shows that the
    rows, bytes and batches so far stay within the limits."""
    batches: list[pa.RecordBatch] = []
    rows = decoded = 0
    while True:
        try:
            message = messages.read_next_message()
        except StopIteration:
            return batches
        cost = batch_cost(message)
        rows += cost.rows
        decoded += cost.decoded_bytes
        if len(batches) == MAX_ARROW_BATCHES:
            raise DataError(f"the Arrow stream has more than {MAX_ARROW_BATCHES} record batches")
        if rows > MAX_READINGS:
            raise DataError(f"the Arrow stream has more than {MAX_READINGS} readings; split it")
        if decoded > MAX_DECODED_BYTES:
            raise DataError(
                f"the Arrow stream decompresses to more than {MAX_DECODED_BYTES} bytes; split it"
            )
        batch = pa.ipc.read_record_batch(message, READING_SCHEMA)
        batch.validate(full=True)
        batches.append(batch)


def readings_from_arrow(body: bytes) -> pa.Table:
    """Parse an Arrow IPC stream of readings, batch by batch within the limits."""
    try:
        messages = pa.ipc.MessageReader.open_stream(pa.py_buffer(body))
        first = messages.read_next_message()
        if first.type != "schema":  # read_schema trusts the type it is given
            raise DataError(f"the Arrow stream starts with a {first.type} message, not a schema")
        schema = pa.ipc.read_schema(first)
        if not schema.equals(READING_SCHEMA):
            raise DataError(f"the Arrow stream's schema is {schema}, expected {READING_SCHEMA}")
        batches = _arrow_batches(messages)
    except (pa.ArrowException, OSError, StopIteration) as err:
        raise DataError(f"the body is not an Arrow IPC stream: {err}") from err
    return _check_readings(pa.Table.from_batches(batches, READING_SCHEMA))


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
