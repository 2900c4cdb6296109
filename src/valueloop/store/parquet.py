"""The cold tier: a folder of Parquet files, one hive partition per UTC day.

Layout: ``<folder>/day=YYYY-MM-DD/part-<uuid>.parquet``. A day holds one live part, sorted by
``(series_id, ts)`` and compressed with zstd; its columns are encoded for size:

- ``series_id`` and ``quality``: dictionary indices, run-length encoded (a few bits per run);
- ``ts``: timestamp[us, UTC] with ``DELTA_BINARY_PACKED`` (regular sampling packs to ~0 bits);
- ``value``: when every value of the part is exactly a decimal with at most six digits after the
  point (``round(v * 10**k) / 10**k == v`` bit for bit, no NaN, no infinity), the int64
  ``round(v * 10**k)`` with ``DELTA_BINARY_PACKED`` and ``k`` in the part's key-value metadata
  (sensor data at a finite resolution then costs ~1 byte a point); otherwise float64 with
  ``BYTE_STREAM_SPLIT``. Reading divides by ``10**k`` again, which gives back the same bits. A
  part holding ``-0.0`` (rounding a small negative reading gives it) doubles its integers and
  stores ``-0.0`` as 1, one more bit a point, so the sign of zero survives too.

Writing a day merges the new points with what the day holds (last write wins), writes the merged
day to a hidden temporary file, fsyncs it and renames it to a new part with ``os.replace``; the new
part names the part it supersedes in its metadata, and the old part is removed afterwards. A crash
at any point leaves either the old or the new day readable, never half of one. Whole days are
dropped by renaming the folder away first. One process writes a tier at a time (the hot store's
lock already ensures it); reads go through an in-memory DuckDB connection that scans only the day
folders a time range touches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import StoreInfo, WriteReport, prepare_batch

SCALE_KEY = b"valueloop.value_scale"
SIGNED_ZERO_KEY = b"valueloop.value_signed_zero"
REPLACES_KEY = b"valueloop.replaces"
MAX_SCALE = 6
ROW_GROUP_ROWS = 131_072
ZSTD_LEVEL = 3

_DAY = timedelta(days=1)
_DAY_FOLDER = re.compile(r"day=(\d{4}-\d{2}-\d{2})")
_EXACT_INTEGERS = 2.0**53
_NEGATIVE_ZERO_BITS = -(2**63)
_NO_POINTS = (
    "SELECT * FROM (VALUES (NULL::INTEGER, NULL::TIMESTAMPTZ, NULL::DOUBLE, NULL::UTINYINT)) "
    "AS none(series_id, ts, value, quality) WHERE false"
)


class ValueCode(NamedTuple):
    """How a part stores ``value``: float64 when ``scale`` is None, else int64 units of
    ``10**-scale``; with ``signed_zero`` the units are doubled and 1 stands for ``-0.0``."""

    scale: int | None
    signed_zero: bool = False

    def sql(self) -> tuple[str, list[Any]]:
        """The DuckDB expression (and its parameters) giving back the float64 value."""
        if self.scale is None:
            return "value", []
        if not self.signed_zero:
            return "CAST(value AS DOUBLE) / CAST(? AS DOUBLE)", [10**self.scale]
        return (
            "CASE WHEN value = 1 THEN CAST('-0.0' AS DOUBLE) "
            "ELSE CAST(value // 2 AS DOUBLE) / CAST(? AS DOUBLE) END",
            [10**self.scale],
        )


def decimal_scale(values: pa.Array | pa.ChunkedArray) -> int | None:
    """The fewest digits ``k <= 6`` after the point that hold every value exactly, or None.

    Exactly: ``round(v * 10**k) / 10**k`` gives ``v`` back bit for bit (``-0.0`` counts as
    ``0.0``; parts record its sign apart). Null values are ignored; any NaN, infinity or value
    beyond 2**53 units of ``10**-k`` gives None.
    """
    present = pc.drop_null(values)
    if isinstance(present, pa.ChunkedArray):
        present = present.combine_chunks()
    if not pc.all(pc.is_finite(present)).as_py():
        return None
    bits = pc.add(present, 0.0).view(pa.int64())  # -0.0 + 0.0 is 0.0
    largest = pc.max(pc.abs(present)).as_py() or 0.0
    for scale in range(MAX_SCALE + 1):
        if largest * 10**scale >= _EXACT_INTEGERS:
            return None
        back = _decode(_units(present, scale), scale)
        if pc.all(pc.equal(back.view(pa.int64()), bits)).as_py():
            return scale
    return None


def _units(values: pa.Array, scale: int) -> pa.Array:
    """``round(v * 10**scale)`` as int64."""
    return pc.round(pc.multiply(values, 10.0**scale)).cast(pa.int64())


def _decode(units: pa.Array, scale: int) -> pa.Array:
    """float64 ``units / 10**scale``: what :meth:`ValueCode.sql` computes in DuckDB."""
    return pc.divide(units.cast(pa.float64()), float(10**scale))


def bytes_per_point(info: StoreInfo) -> float | None:
    """Bytes on disk per stored point of a store or tier, or None when it holds no point."""
    return info.bytes / info.points if info.points else None


def replace_durably(source: Path, target: Path) -> None:
    """Rename a fully written ``source`` over ``target`` so a crash leaves one or the other."""
    with source.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
    if os.name == "posix":
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _encode(points: pa.Table) -> tuple[pa.Table, str, dict[bytes, bytes]]:
    """The table to write, the encoding of its ``value`` column and the metadata it needs."""
    values = points.column("value").combine_chunks()
    scale = decimal_scale(values)
    if scale is None:
        return points, "BYTE_STREAM_SPLIT", {}
    units = _units(values, scale)
    metadata = {SCALE_KEY: str(scale).encode()}
    negative_zero = pc.fill_null(
        pc.equal(values.view(pa.int64()), pa.scalar(_NEGATIVE_ZERO_BITS, pa.int64())), False
    )
    if pc.any(negative_zero).as_py():
        units = pc.add(pc.multiply(units, 2), negative_zero.cast(pa.int64()))
        metadata[SIGNED_ZERO_KEY] = b"1"
    scaled = points.set_column(2, pa.field("value", pa.int64()), units)
    return scaled, "DELTA_BINARY_PACKED", metadata


def _metadata(part: Path) -> dict[bytes, bytes]:
    return dict(pq.read_metadata(part).metadata or {})


def _rows(parts: Sequence[Path]) -> int:
    return sum(pq.read_metadata(part).num_rows for part in parts)


def _span(parts: Sequence[Path]) -> tuple[datetime, datetime] | None:
    """Earliest and latest ``ts`` of ``parts``, from their row-group statistics."""
    stats = []
    for part in parts:
        meta = pq.read_metadata(part)
        column = meta.schema.names.index("ts")
        stats += [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
    if not stats:
        return None
    return min(s.min for s in stats), max(s.max for s in stats)


def _within(start: datetime | None, end: datetime | None) -> pc.Expression:
    """The filter ``start <= ts < end`` (an open side when None)."""
    inside = pc.scalar(True)
    if start is not None:
        inside = inside & (pc.field("ts") >= pa.scalar(start, POINT_SCHEMA.field("ts").type))
    if end is not None:
        inside = inside & (pc.field("ts") < pa.scalar(end, POINT_SCHEMA.field("ts").type))
    return inside


class ParquetTier:
    """Points in day-partitioned Parquet files under ``folder``; see the module documentation."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in [*self.folder.glob(".trash-*"), *self.folder.glob(".staging-*")]:
            shutil.rmtree(leftover)  # left by a crash; never readable
        self._lock = threading.RLock()
        self._codes: dict[Path, ValueCode] = {}
        self._connection = duckdb.connect()
        self._connection.execute("SET TimeZone = 'UTC'").fetchall()

    def close(self) -> None:
        """Close the tier's DuckDB connection; the files stay."""
        with self._lock:
            self._connection.close()

    # Files -------------------------------------------------------------------------------------

    def days(self, start: datetime | None = None, end: datetime | None = None) -> list[date]:
        """The days holding points, oldest first, limited to those overlapping ``[start, end)``."""
        found = []
        for folder in self.folder.glob("day=*"):
            match = _DAY_FOLDER.fullmatch(folder.name)
            if match is None or not folder.is_dir():
                continue
            day = date.fromisoformat(match.group(1))
            if (start is None or _moment(day) + _DAY > start) and (
                end is None or _moment(day) < end
            ):
                found.append(day)
        return sorted(found)

    def parts(self, day: date) -> list[Path]:
        """The live parts of ``day``: all but those a newer part of the day supersedes."""
        parts = sorted((self.folder / f"day={day.isoformat()}").glob("part-*.parquet"))
        if len(parts) <= 1:
            return parts
        superseded = {
            name for part in parts for name in json.loads(_metadata(part).get(REPLACES_KEY, b"[]"))
        }
        return [part for part in parts if part.name not in superseded]

    def files(self, start: datetime | None = None, end: datetime | None = None) -> list[Path]:
        """The live parts of the days overlapping ``[start, end)``."""
        return [part for day in self.days(start, end) for part in self.parts(day)]

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A hidden scratch folder inside the tier, removed afterwards (and on the next open)."""
        folder = self.folder / f".staging-{uuid.uuid4().hex}"
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _code(self, part: Path) -> ValueCode:
        if part not in self._codes:  # parts are never modified, only replaced by new names
            metadata = _metadata(part)
            scale = metadata.get(SCALE_KEY)
            self._codes[part] = ValueCode(
                None if scale is None else int(scale), SIGNED_ZERO_KEY in metadata
            )
        return self._codes[part]

    # Queries -----------------------------------------------------------------------------------

    def _source(self, start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
        """SQL for every point of the days overlapping ``[start, end)``, values decoded."""
        by_code: dict[ValueCode, list[str]] = {}
        for part in self.files(start, end):
            by_code.setdefault(self._code(part), []).append(str(part))
        if not by_code:
            return _NO_POINTS, []
        branches, params = [], []
        for code, files in by_code.items():
            value, value_params = code.sql()
            branches.append(
                f"SELECT series_id, ts, {value} AS value, quality "
                "FROM read_parquet(?, hive_partitioning = false)"
            )
            params += [*value_params, files]
        return " UNION ALL ".join(branches), params

    def query(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tables: Mapping[str, pa.Table] | None = None,
    ) -> pa.Table:
        """Run ``sql``, in which ``cold_points`` names the points of the days ``[start, end)``
        touches (filter on ``ts`` for the exact range) and each of ``tables`` its Arrow table."""
        tables = tables or {}
        with self._lock:
            source, source_params = self._source(start, end)
            try:
                for name, table in tables.items():
                    self._connection.register(name, table)
                return self._connection.sql(
                    f"WITH cold_points AS ({source}) {sql}", params=[*source_params, *params]
                ).to_arrow_table()
            except duckdb.Error as err:
                raise StoreError(f"cold tier {self.folder}: {err}") from err
            finally:
                for name in tables:
                    self._connection.unregister(name)

    def read(
        self,
        series: Sequence[int] | None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
    ) -> pa.Table:
        """Points of ``series`` (every series if None) with ``start <= ts < end``, sorted; the
        first ``limit`` of them if given."""
        where: list[str] = ["true"]
        params: list[Any] = []
        if series is not None:
            where.append("series_id IN (SELECT unnest(?::INTEGER[]))")
            params.append(list(series))
        if start is not None:
            where.append("ts >= ?")
            params.append(start)
        if end is not None:
            where.append("ts < ?")
            params.append(end)
        table = self.query(
            f"SELECT * FROM cold_points WHERE {' AND '.join(where)} ORDER BY series_id, ts LIMIT ?",
            [*params, limit],
            start=start,
            end=end,
        )
        return table.cast(POINT_SCHEMA)

    def latest(self, series: Sequence[int], before: datetime | None = None) -> pa.Table:
        """The newest point before ``before`` of each of ``series`` that has one."""
        bound, params = ("", []) if before is None else (" AND ts < ?", [before])
        table = self.query(
            "SELECT series_id, max(ts) AS ts, arg_max(value, ts) AS value, "
            "arg_max(quality, ts) AS quality FROM cold_points "
            f"WHERE series_id IN (SELECT unnest(?::INTEGER[])){bound} "
            "GROUP BY series_id ORDER BY series_id",
            [list(series), *params],
            end=before,
        )
        return table.cast(POINT_SCHEMA)

    def info(self) -> StoreInfo:
        """Series, points, bytes on disk and time range of the tier (tier name ``cold``)."""
        rows = self.query(
            "SELECT count(DISTINCT series_id) AS series, count(*) AS points, "
            "min(ts) AS start, max(ts) AS end FROM cold_points"
        ).to_pylist()[0]
        return StoreInfo(
            tier="cold",
            series=int(rows["series"]),
            points=int(rows["points"]),
            bytes=sum(part.stat().st_size for part in self.files()),
            start=rows["start"],
            end=rows["end"],
        )

    # Writes ------------------------------------------------------------------------------------

    def write(self, batch: pa.Table) -> WriteReport:
        """Merge a PointBatch into its days (last write wins); each day is replaced atomically."""
        batch = prepare_batch(batch)
        days = pc.cast(batch.column("ts"), pa.date32())
        replaced = 0
        with self._lock:
            for day in pc.unique(days).to_pylist():
                incoming = batch.filter(pc.equal(days, pa.scalar(day, pa.date32())))
                held = self.read(None, _moment(day), _moment(day) + _DAY)
                merged = prepare_batch(pa.concat_tables([held, incoming]))
                replaced += held.num_rows + incoming.num_rows - merged.num_rows
                self._replace_day(day, merged)
        return WriteReport(
            received=batch.num_rows, inserted=batch.num_rows - replaced, replaced=replaced
        )

    def delete_before(self, before: datetime) -> int:
        """Retention: drop every point with ``ts < before``; return how many."""
        return self._delete(None, before)

    def delete_from(self, start: datetime) -> int:
        """Drop every point with ``ts >= start``; return how many."""
        return self._delete(start, None)

    def _delete(self, start: datetime | None, end: datetime | None) -> int:
        """Drop the points with ``start <= ts < end``: whole days by folder, others rewritten."""
        dropped = 0
        with self._lock:
            for day in self.days(start, end):
                parts = self.parts(day)
                first, last = _moment(day), _moment(day) + _DAY
                span = _span(parts)
                if (start is None or start <= first) and (end is None or last <= end):
                    dropped += _rows(parts)
                    self._drop_day(day)
                elif (
                    span is not None
                    and (start is None or span[1] >= start)
                    and (end is None or span[0] < end)
                ):
                    held = self.read(None, first, last)
                    kept = held.filter(~_within(start, end))
                    dropped += held.num_rows - kept.num_rows
                    self._replace_day(day, kept)
        return dropped

    def _replace_day(self, day: date, points: pa.Table) -> None:
        """Make ``points`` (sorted, unique) the whole content of ``day``, atomically."""
        folder = self.folder / f"day={day.isoformat()}"
        folder.mkdir(exist_ok=True)
        live = self.parts(day)
        for stale in set(folder.iterdir()) - set(live):  # superseded parts, unfinished writes
            stale.unlink()
        if points.num_rows:
            name = f"part-{uuid.uuid4().hex}.parquet"
            encoded, value_encoding, metadata = _encode(points)
            metadata[REPLACES_KEY] = json.dumps([part.name for part in live]).encode()
            temporary = folder / f".{name}.tmp"
            pq.write_table(
                encoded.replace_schema_metadata(metadata),
                temporary,
                compression="zstd",
                compression_level=ZSTD_LEVEL,
                use_dictionary=["series_id", "quality"],
                column_encoding={"ts": "DELTA_BINARY_PACKED", "value": value_encoding},
                row_group_size=ROW_GROUP_ROWS,
                sorting_columns=[pq.SortingColumn(0), pq.SortingColumn(1)],
            )
            replace_durably(temporary, folder / name)
        for part in live:
            part.unlink()
            self._codes.pop(part, None)
        if not points.num_rows:
            folder.rmdir()

    def _drop_day(self, day: date) -> None:
        folder = self.folder / f"day={day.isoformat()}"
        for part in folder.iterdir():
            self._codes.pop(part, None)
        trash = self.folder / f".trash-{uuid.uuid4().hex}"
        os.replace(folder, trash)
        shutil.rmtree(trash)
