"""The columns a baseline reads from a table: times, the metered target, regressors, calendar.

A reference or reporting period is an Arrow table with one row per interval (an hour, a day, a
month): a ``ts`` column (the start of the interval), the metered quantity (the baseline's
``target``, energy per interval such as kWh per day) and the regressors the baseline names
(temperature, production volume, operating hours). :func:`read_frame` turns it into numpy arrays,
sorted by time, with the rows that miss any of them flagged; calendar variables (hour, weekday,
month, hour of the week) are taken in the site's local time, since a building or a shift follows
the local clock, not UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import ModelError

Vector = npt.NDArray[np.float64]
Stamps = npt.NDArray[np.datetime64]
Codes = npt.NDArray[np.int64]

TIME = "ts"
TIME_TYPE = pa.timestamp("us", tz="UTC")

CalendarVariable = Literal["hour", "weekday", "month", "hour_of_week"]
CALENDAR_VARIABLES: tuple[CalendarVariable, ...] = get_args(CalendarVariable)


@dataclass(frozen=True)
class Frame:
    """The columns of a period as float arrays, in time order.

    Attributes:
        ts: interval starts, ``datetime64[us]`` in UTC.
        columns: each requested column as float64, nulls as NaN.
        calendar: each requested calendar variable as integer codes in local time.
        complete: rows where every requested column is a finite number.
    """

    ts: Stamps
    columns: Mapping[str, Vector]
    calendar: Mapping[str, Codes]
    complete: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ts)

    def column(self, name: str) -> Vector:
        """Column ``name`` as float64."""
        return self.columns[name]

    def rows(self, mask: npt.NDArray[np.bool_]) -> Frame:
        """The rows of ``mask`` only."""
        return Frame(
            ts=self.ts[mask],
            columns={name: values[mask] for name, values in self.columns.items()},
            calendar={name: codes[mask] for name, codes in self.calendar.items()},
            complete=self.complete[mask],
        )


def _float_column(table: pa.Table, name: str) -> Vector:
    if name not in table.column_names:
        raise ModelError(f"column {name!r} is missing from the input table")
    try:
        column = table[name].cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise ModelError(f"column {name!r} is not numeric: {err}") from err
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _times(table: pa.Table) -> pa.ChunkedArray:
    if TIME not in table.column_names:
        raise ModelError(f"column {TIME!r} (the start of each interval) is missing")
    column = table[TIME]
    if not pa.types.is_timestamp(column.type):
        raise ModelError(f"column {TIME!r} must be a timestamp, not {column.type}")
    if column.null_count:
        raise ModelError(f"column {TIME!r} has {column.null_count} empty values")
    return column.cast(TIME_TYPE)


def calendar_codes(ts: pa.ChunkedArray, variable: CalendarVariable, timezone: str) -> Codes:
    """Integer codes of ``variable`` for each time of ``ts`` in ``timezone``.

    ``hour`` 0-23, ``weekday`` 0 (Monday) to 6, ``month`` 1-12, ``hour_of_week`` 0-167 from
    Monday 00:00.
    """
    try:
        local = ts.cast(pa.timestamp("us", tz=timezone))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise ModelError(f"unknown time zone {timezone!r}: {err}") from err

    def codes(array: pa.ChunkedArray) -> Codes:
        return np.asarray(array.to_numpy(), dtype=np.int64)

    if variable == "hour":
        return codes(pc.hour(local))
    if variable == "weekday":
        return codes(pc.day_of_week(local))
    if variable == "month":
        return codes(pc.month(local))
    if variable == "hour_of_week":
        return codes(pc.day_of_week(local)) * 24 + codes(pc.hour(local))
    raise ModelError(f"unknown calendar variable {variable!r}; known: {CALENDAR_VARIABLES}")


def read_frame(
    table: pa.Table,
    columns: Sequence[str],
    *,
    calendar: Sequence[CalendarVariable] = (),
    timezone: str = "UTC",
    required: Sequence[str] | None = None,
) -> Frame:
    """``columns`` and ``calendar`` variables of ``table``, sorted by ``ts``.

    A row is complete when every column of ``required`` (all of ``columns`` by default) holds a
    finite number; the others are kept, flagged, so that a prediction can say which rows it could
    not make. Raises :class:`ModelError` naming a missing or non-numeric column.
    """
    ts = _times(table)
    order = np.argsort(np.asarray(ts.to_numpy(), dtype="datetime64[us]"), kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        table = table.take(pa.array(order))
        ts = _times(table)
    values = {name: _float_column(table, name) for name in dict.fromkeys(columns)}
    complete = np.ones(table.num_rows, dtype=np.bool_)
    for name in columns if required is None else required:
        complete &= np.isfinite(values[name])
    codes: dict[str, Codes] = {
        variable: calendar_codes(ts, variable, timezone) for variable in calendar
    }
    stamps = np.asarray(ts.to_numpy(), dtype="datetime64[us]")
    return Frame(ts=stamps, columns=values, calendar=codes, complete=complete)
