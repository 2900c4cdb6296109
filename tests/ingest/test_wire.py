"""Reading bodies on the wire within their limits: every bad input is a DataError naming it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from tests.ingest.payloads import FLOW, bomb, readings_table, stream

from valueloop.errors import DataError
from valueloop.ingest.ipc_header import batch_cost
from valueloop.ingest.wire import (
    MAX_ARROW_BATCHES,
    MAX_DECODED_BYTES,
    MAX_FIELD_CHARS,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_VALUES,
    MAX_READINGS,
    readings_from_arrow,
    readings_from_csv,
    readings_from_json,
)
from valueloop.schema import READING_SCHEMA


def json_body(ts: object) -> bytes:
    return json.dumps([{"series": FLOW, "ts": ts, "value": 1}]).encode()


def refused(message: str) -> pytest.RaisesExc[DataError]:
    """Expect a DataError whose message starts with ``message``."""
    return pytest.raises(DataError, match="^" + re.escape(message))


@pytest.mark.parametrize(
    ("ts", "message"),
    [
        (float("nan"), "reading 1: ts nan is not epoch milliseconds within 1970-2200"),
        (float("inf"), "reading 1: ts inf is not epoch milliseconds"),
        (1e18, "reading 1: ts 1e+18 is not epoch milliseconds"),
        (-1e15, "reading 1: ts -1000000000000000.0 is not epoch milliseconds"),
        (1e300, "reading 1: ts 1e+300 is not epoch milliseconds"),
        (2**70, "reading 1: ts 1180591620717411303424 is not epoch milliseconds"),
        (-1, "reading 1: ts -1 is not epoch milliseconds"),
        ("0001-01-01T00:00+14:00", "reading 1: ts '0001-01-01T00:00+14:00' is outside 1970-2200"),
        ("9999-12-31T23:59-14:00", "reading 1: ts '9999-12-31T23:59-14:00' is outside 1970-2200"),
        ("2200-01-01T00:00:00Z", "reading 1: ts '2200-01-01T00:00:00Z' is outside 1970-2200"),
        ("1969-12-31T23:59:59Z", "reading 1: ts '1969-12-31T23:59:59Z' is outside 1970-2200"),
        (True, "reading 1: ts must be ISO 8601 text or epoch milliseconds"),
    ],
)
def test_json_times_outside_1970_2200_are_refused_by_row(ts: object, message: str) -> None:
    with refused(message):
        readings_from_json(json_body(ts))


def test_json_times_inside_the_range_are_read_in_utc() -> None:
    table = readings_from_json(
        json.dumps(
            [
                {"series": FLOW, "ts": 0, "value": 1},
                {"series": FLOW, "ts": "2026-03-01T11:00:00+01:00", "value": None},
                {"series": FLOW, "ts": 1772359260000.5, "value": 10**20},
            ]
        ).encode()
    )
    assert table.column("ts").to_pylist() == [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 1, 0, 500, tzinfo=UTC),
    ]


def test_json_nesting_is_refused_before_decoding() -> None:
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        with refused(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"):
            readings_from_json(b"[" * depth + b"]" * depth)
    with refused(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"):
        readings_from_json(b'{"readings": ' + b"{" * 60_000)  # unclosed


def test_brackets_in_strings_do_not_count_as_nesting() -> None:
    series = 'a"' + "[" * 40 + "\\"
    body = json.dumps([{"series": series, "ts": 0, "value": 1}]).encode()
    assert b'a\\"[[[' in body
    assert readings_from_json(body).column("series").to_pylist() == [series]


def test_json_values_and_bytes_are_bounded() -> None:
    with refused(f"the JSON body holds more than {MAX_JSON_VALUES} values"):
        readings_from_json(b"[" + b"0," * MAX_JSON_VALUES + b"0]")
    with refused(f"the JSON body has {MAX_JSON_BYTES + 1} bytes; send at most {MAX_JSON_BYTES}"):
        readings_from_json(b" " * (MAX_JSON_BYTES + 1))
    with refused("reading 1: value 1000000000000000000000000000000000000... is too large"):
        readings_from_json(json.dumps([{"series": FLOW, "ts": 0, "value": 10**400}]).encode())
    with refused(f"reading 1: series is longer than {MAX_FIELD_CHARS} characters"):
        readings_from_json(json.dumps([{"series": "s" * 2000, "ts": 0, "value": 1}]).encode())
    with refused("the body is not valid JSON"):
        readings_from_json(b"[" + b"9" * 5000 + b"]")  # more digits than Python converts


EPOCH_MS, ISO = "1772359260000", "2026-03-01T10:00:00Z"


@pytest.mark.parametrize(
    ("first", "ts", "message"),
    [
        (EPOCH_MS, "1e20", "reading 2: ts 1e+20 is not epoch milliseconds within 1970-2200"),
        (EPOCH_MS, "inf", "reading 2: ts inf is not epoch milliseconds"),
        (EPOCH_MS, "1180591620717411303424", "reading 2: ts 1.1805916207174113e+21 is not epoch"),
        (EPOCH_MS, "-5", "reading 2: ts -5 is not epoch milliseconds"),
        (EPOCH_MS, str(2**53 + 1), f"reading 2: ts {2**53 + 1} is not epoch milliseconds"),
        (EPOCH_MS, str(-(2**63)), f"reading 2: ts {-(2**63)} is not epoch milliseconds"),
        (EPOCH_MS, "NaN", "reading 2: ts is missing"),
        (ISO, "0001-01-01T00:00+14:00", "reading 2: ts of -62135647200000000 microseconds after"),
        (ISO, "2250-01-01T00:00:00Z", "reading 2: ts 2250-01-01T00:00:00+00:00 is outside"),
        (ISO, "2026-03-01T10:00:00", "reading 2: ts '2026-03-01T10:00:00' has no time zone"),
        (ISO, "soon", "reading 2: ts 'soon' is not ISO 8601"),
        (ISO, EPOCH_MS, f"reading 2: ts '{EPOCH_MS}' is not ISO 8601"),
    ],
)
def test_csv_times_outside_1970_2200_are_refused_by_row(first: str, ts: str, message: str) -> None:
    with refused(message):
        readings_from_csv(f"series,ts,value\n{FLOW},{first},1\n{FLOW},{ts},2\n".encode())


def test_csv_times_in_any_unit_are_microseconds_utc() -> None:
    table = readings_from_csv(
        f"series,ts,value\n{FLOW},2026-03-01T11:00:00.123456789+01:00,1\n".encode()
    )
    assert table.column("ts").to_pylist() == [datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)]
    table = readings_from_csv(f"series,ts,value\n{FLOW},1772359260000.25,1\n".encode())
    assert table.column("ts").cast(pa.int64()).to_pylist() == [1772359260000250]


def test_csv_rows_and_fields_are_bounded() -> None:
    rows = b"series,ts,value\n" + b"a,0,1\n" * (MAX_READINGS + 1)
    with refused(f"the CSV body has more than {MAX_READINGS} readings"):
        readings_from_csv(rows)
    with refused(f"reading 1: series is longer than {MAX_FIELD_CHARS} characters"):
        readings_from_csv(f"series,ts,value\n{'s' * 2000},0,1\n".encode())
    with refused("the CSV body cannot be read"):
        readings_from_csv(f"series,ts,value\n{'s' * (2 << 20)},0,1\n".encode())
    with refused("the CSV body cannot be read: 'utf-8' codec can't decode byte 0xff"):
        readings_from_csv(b"series,ts\xff,value\na,0,1\n")
    with refused("reading 2: quality must be 0, 1 or 2"):
        readings_from_csv(f"series,ts,value,quality\n{FLOW},0,1,0\n{FLOW},0,1,7\n".encode())


def test_the_cost_of_a_batch_is_read_from_its_header() -> None:
    for compression in ("zstd", "lz4", None):
        body = stream([readings_table(500)], compression=compression)
        messages = pa.ipc.MessageReader.open_stream(pa.py_buffer(body))
        messages.read_next_message()
        message = messages.read_next_message()
        cost = batch_cost(message)
        decoded = pa.ipc.read_record_batch(message, READING_SCHEMA)
        assert (cost.rows, cost.decoded_bytes) == (500, decoded.get_total_buffer_size())


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    body = bomb(MAX_DECODED_BYTES + 2**20)
    assert len(body) < 64 * 2**10
    allocated = pa.total_allocated_bytes()
    with refused(f"the Arrow stream decompresses to more than {MAX_DECODED_BYTES} bytes"):
        readings_from_arrow(body)
    assert pa.total_allocated_bytes() - allocated < 2**20


def test_arrow_batches_and_rows_are_bounded() -> None:
    with refused(f"the Arrow stream has more than {MAX_ARROW_BATCHES} record batches"):
        readings_from_arrow(stream([readings_table(1)] * (MAX_ARROW_BATCHES + 1)))
    with refused(f"the Arrow stream has more than {MAX_READINGS} readings"):
        readings_from_arrow(stream([readings_table(MAX_READINGS + 1)]))


@pytest.mark.parametrize(
    ("micros", "message"),
    [
        (int(datetime(2250, 1, 1, tzinfo=UTC).timestamp() * 1e6), "2250-01-01T00:00:00+00:00"),
        (-(2**62), f"of {-(2**62)} microseconds after 1970-01-01"),
    ],
)
def test_arrow_times_outside_1970_2200_are_refused_by_row(micros: int, message: str) -> None:
    table = pa.concat_tables([readings_table(2), readings_table(1, micros=micros)])
    with refused(f"reading 3: ts {message} is outside 1970-2200"):
        readings_from_arrow(stream([table]))


def test_arrow_streams_that_are_not_readings_are_refused() -> None:
    good = stream([readings_table(3)])
    assert readings_from_arrow(good).num_rows == 3
    with refused("the body is not an Arrow IPC stream"):
        readings_from_arrow(good[: len(good) // 2])
    with refused("the body is not an Arrow IPC stream"):
        readings_from_arrow(b"")
    nulls = readings_table(2, series=pa.array([FLOW, None], pa.string()))
    with refused("reading 2: series is missing"):
        readings_from_arrow(stream([nulls]))
    other = pa.table({"series": [FLOW]})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, other.schema) as writer:
        writer.write_table(other)
    with refused("the Arrow stream's schema is"):
        readings_from_arrow(sink.getvalue().to_pybytes())
