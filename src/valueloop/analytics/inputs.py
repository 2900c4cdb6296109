"""Checking and repairing the wide histories the models read, before any feature is computed.

Every RUL model passes its input through :func:`prepare_history`, so that bad input gives the same
answer everywhere:

- a missing column: :class:`~valueloop.errors.ModelError` naming it;
- a signal the model was not trained on: :class:`~valueloop.errors.ModelError` naming it (a model
  does not guess what a new signal means; drop the column or refit);
- a missing value (null, NaN or infinite): documented fallback, the unit's last valid value of that
  signal is carried forward (the first valid one backward, for leading gaps); a signal with no valid
  value at all in some unit raises :class:`~valueloop.errors.ModelError` naming the unit and signal.

Rows come back sorted by ``unit`` then ``cycle``. Constant signals and series shorter than a
model's window are handled by the models themselves (see their docstrings).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.analytics.features import require_columns
from valueloop.errors import ModelError

KEYS = ("unit", "cycle")


def signal_columns(data: pa.Table) -> tuple[str, ...]:
    """The columns of ``data`` other than ``unit`` and ``cycle``: the signals a model sees."""
    return tuple(name for name in data.column_names if name not in KEYS)


def _check_known(data: pa.Table, known: Sequence[str]) -> None:
    unknown = [name for name in signal_columns(data) if name not in known]
    if unknown:
        raise ModelError(
            f"signal {unknown[0]!r} was not in the training data of this model: "
            "drop the column or refit the model with it"
        )


def _filled(name: str, values: np.ndarray, units: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``values`` with gaps filled inside each unit; ``bounds`` holds each row's unit start, end."""
    valid = np.isfinite(values)
    if valid.all():
        return values
    rows = np.arange(values.size)
    starts, ends = bounds
    previous = np.maximum.accumulate(np.where(valid, rows, -1))
    following = np.minimum.accumulate(np.where(valid, rows, values.size)[::-1])[::-1]
    source = np.where(previous >= starts, previous, following)
    empty = source >= ends
    if empty.any():
        unit = units[np.argmax(empty)]
        raise ModelError(f"signal {name!r} has no valid value for unit {unit}")
    return values[source]


def prepare_history(
    data: pa.Table, columns: Sequence[str], *, known: Sequence[str] | None = None
) -> pa.Table:
    """``unit``, ``cycle`` and ``columns`` of ``data``, sorted, with gaps filled (see the module).

    ``columns`` are the signals the model uses; ``known`` (default: ``columns``) lists every signal
    the model was trained with, and any other signal column in ``data`` is an error.
    """
    require_columns(data, (*KEYS, *columns))
    _check_known(data, tuple(columns) if known is None else known)
    if data.num_rows == 0:
        raise ModelError("no rows to predict from or fit on")
    data = data.select([*KEYS, *columns])
    data = data.take(pc.sort_indices(data, [("unit", "ascending"), ("cycle", "ascending")]))
    units = data["unit"].to_numpy()
    first = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
    lengths = np.diff(np.r_[first, units.size])
    bounds = np.stack([np.repeat(first, lengths), np.repeat(first + lengths, lengths)])
    arrays: dict[str, pa.Array] = {
        "unit": pc.cast(data["unit"], pa.int32()).combine_chunks(),
        "cycle": pc.cast(data["cycle"], pa.int32()).combine_chunks(),
    }
    for name in columns:
        raw = pc.cast(data[name], pa.float64()).combine_chunks()
        values = raw.to_numpy(zero_copy_only=False).astype(np.float64)
        arrays[name] = pa.array(_filled(name, values, units, bounds), pa.float64())
    return pa.table(arrays)
