"""Analytics bound to an asset's signals by configuration, run as engine jobs in data time.

A :class:`ResolvedBinding` is one binding of site.yaml applied to one asset, with series ids
resolved; :class:`AnalyticsJob` runs it on the engine's clock (:mod:`valueloop.engine.job`).

Data-time semantics, the same whatever the split of time into steps and across restarts:

- **Grid.** The binding's series are resampled onto cells of ``resample`` aligned to the UTC epoch
  (:mod:`.resample`): last value in the cell, carried forward at most ``max_gap`` (default five
  cells), bad-quality points are NaN. Only whole cells strictly before ``now`` (less the
  binding's ``lateness``, default 0) are processed, or sooner the cells that every series read
  has moved past (``reached``: the ingest's record of what it stored, so that a reading is scored
  at the next step), and a point stored after its cell was processed is not read; the watermark
  is the end of the last processed cell. Outputs are stamped with the
  cell start. After the newest point the last values are carried on for ``max_gap`` too, so the
  outputs of those cells rest on carried values.
- **First fit.** The training window starts at the first cell where every signal the binding reads
  has a value. The job waits (status ``waiting``, message ``waiting for data: N of M rows in the
  training window``, no output) until the window ``[first, first + window)`` has passed and holds
  at least ``min_points`` complete rows (or the model's own ``min_rows``, if larger); if it holds
  fewer, the window slides on, cell by cell, until the trailing ``window`` holds enough. The
  window is then re-read from the store and the model fitted on it; outputs start at its end.
- **Refits.** With ``refit_every``, at ``fit_end + k * refit_every`` a fresh model is fitted on
  the preceding ``window`` (re-read from the store); a window with too few rows keeps the model.
- **Missing inputs.** A row with a missing input gets no output point (not a NaN, not a zero):
  a gap in the output series says that the analytics could not run; detectors hold their state
  over such rows. An expected-value row with its inputs but not its target gets ``expected``,
  ``lower`` and ``upper`` without ``residual``.
- **Incremental.** A step reads only the points after the watermark (in chunks of at most
  :data:`CHUNK_CELLS` cells); the carry-forward state, the fitted model and the refit schedule
  are pickled in the job state. Outputs are upserted on ``(series_id, ts)``, fits recorded once in
  :class:`~.versions.ModelVersions`. A state saved for another configuration of the binding (or
  a lost or unreadable one) is dropped and the job rewinds one training window before its
  watermark, so that the new configuration fits on recent data at once.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from valueloop.analytics.bound import WAITING, Bound, Outputs, bind
from valueloop.analytics.kinds import OUTPUTS, check_params, kind_role, min_rows
from valueloop.analytics.resample import (
    Carry,
    Grid,
    TrainingGate,
    floor_to,
    instant,
    micros,
    resample,
)
from valueloop.analytics.versions import ModelVersion, ModelVersions
from valueloop.engine.job import JobResult, JobState
from valueloop.errors import ConfigError, ModelError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import TimeSeriesStore

CHUNK_CELLS = 50_000
"""The most cells gridded at once; a step over a longer period reads it in several chunks."""
_STATE_FORMAT = 1
"""Version of the pickled state (a zlib-compressed dict); another version starts over."""


@dataclass(frozen=True, kw_only=True)
class ResolvedBinding:
    """One analytics binding applied to one asset, with its series resolved to ids.

    ``inputs`` are the series read, in column order (a model's regressors); ``target`` the series a
    model predicts or forecasts; ``outputs`` maps each output of the kind
    (:func:`~.kinds.kind_outputs`) to the id of its derived series ``<name>_<output>``. Durations:
    ``window`` of training data, ``refit_every`` (None: fit once), ``resample`` the grid step,
    ``max_gap`` how long a value is carried onto later cells (None: five cells), ``horizon`` and
    ``predict_every`` of a forecaster, ``every`` the job's period, ``lateness`` how long after its
    end a cell waits before it is processed (points stored later than that for a processed cell are
    not read). ``threshold`` is the score above which a detector's row is anomalous (for the alarms
    on ``<name>_score``).
    """

    name: str
    kind: str
    asset: str
    inputs: tuple[int, ...] = ()
    input_names: tuple[str, ...] = ()
    target: int | None = None
    target_name: str | None = None
    outputs: Mapping[str, int]
    params: Mapping[str, Any] = field(default_factory=dict)
    window: timedelta
    refit_every: timedelta | None = None
    resample: timedelta
    max_gap: timedelta | None = None
    min_points: int = 10
    threshold: float = 0.5
    horizon: timedelta | None = None
    predict_every: timedelta | None = None
    every: timedelta
    lateness: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        where = f"analytics {self.name!r} on {self.asset!r}"
        try:
            role = kind_role(self.kind)
            check_params(self.kind, self.params, signals=self.input_names)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from err
        if len(self.inputs) != len(self.input_names):
            raise ConfigError(f"{where}: {len(self.inputs)} input ids for {self.input_names}")
        if (self.target is None) != (self.target_name is None):
            raise ConfigError(f"{where}: target id and target name go together")
        if role == "detector" and (not self.inputs or self.target is not None):
            raise ConfigError(f"{where}: a detector reads one or more signals and has no target")
        if role == "expected_value" and (not self.inputs or self.target is None):
            raise ConfigError(f"{where}: an expected-value model needs inputs and a target")
        if role == "forecaster" and (self.inputs or self.target is None):
            raise ConfigError(f"{where}: a forecaster forecasts one target and reads no inputs")
        if role == "forecaster" and (self.horizon is None or self.predict_every is None):
            raise ConfigError(f"{where}: a forecaster needs a horizon and predict_every")
        if set(self.outputs) != set(OUTPUTS[role]):
            raise ConfigError(
                f"{where}: outputs {sorted(self.outputs)}, expected {list(OUTPUTS[role])}"
            )
        if self.resample <= timedelta(0) or self.window < self.resample:
            raise ConfigError(f"{where}: resample must be positive and window at least resample")
        if min(self.max_gap or timedelta(0), self.lateness) < timedelta(0):
            raise ConfigError(f"{where}: max_gap and lateness must not be negative")
        for label, span in (
            ("refit_every", self.refit_every),
            ("horizon", self.horizon),
            ("predict_every", self.predict_every),
        ):
            if span is not None and (span <= timedelta(0) or span % self.resample):
                raise ConfigError(f"{where}: {label} must be a positive multiple of resample")

    @property
    def read(self) -> tuple[int, ...]:
        """The series the job reads, in grid column order: inputs, then the target."""
        return (*self.inputs, *(() if self.target is None else (self.target,)))

    @property
    def read_names(self) -> tuple[str, ...]:
        """The names of :attr:`read`."""
        target = () if self.target_name is None else (self.target_name,)
        return (*self.input_names, *target)

    @property
    def gap(self) -> timedelta:
        """``max_gap``, defaulting to five cells."""
        return 5 * self.resample if self.max_gap is None else self.max_gap

    def fingerprint(self) -> str:
        """What the job state depends on: a saved state of another fingerprint is dropped."""
        return repr(
            (
                self.kind,
                sorted(self.params.items()),
                self.read,
                self.window,
                self.refit_every,
                self.resample,
                self.gap,
                self.min_points,
                self.horizon,
                self.predict_every,
            )
        )


@dataclass
class _State:
    """What a job resumes from (pickled as a dict)."""

    fingerprint: str
    end: int | None
    carry: Carry
    gate: TrainingGate | None
    bound: Bound | None = None
    next_refit: int | None = None
    version: str = ""


class AnalyticsJob:
    """An engine job running one :class:`ResolvedBinding` (see the module docstring)."""

    def __init__(
        self,
        points: TimeSeriesStore,
        binding: ResolvedBinding,
        versions: ModelVersions,
        *,
        reached: Callable[[Sequence[int]], datetime | None] | None = None,
    ) -> None:
        self.points = points
        self.reached = reached
        self.binding = binding
        self.versions = versions
        self.name = f"analytics:{binding.name}:{binding.asset}"
        self.every = binding.every
        self._step = micros(binding.resample)
        self._window = micros(binding.window)
        self._gap = micros(binding.gap)
        self._refit = None if binding.refit_every is None else micros(binding.refit_every)
        self._min_rows = max(binding.min_points, min_rows(binding.kind, binding.params), 1)
        self._retry = max(floor_to(self._window // 10, self._step), self._step)

    # state --------------------------------------------------------------------------------

    def _fresh(self, end: int | None) -> _State:
        return _State(
            fingerprint=self.binding.fingerprint(),
            end=end,
            carry=Carry.empty(len(self.binding.read)),
            gate=TrainingGate(self._window, self._step, self._min_rows),
        )

    def _rewound(self, end: int | None) -> _State:
        """A fresh state one training window (and carry) before ``end``: it refits at once."""
        if end is None:
            return self._fresh(None)
        return self._fresh(floor_to(end - self._window - self._gap, self._step))

    def _restore(self, state: bytes | None, watermark: datetime | None) -> _State:
        """The saved state; without a usable one, rewind from the watermark (or start over)."""
        mark = None if watermark is None else floor_to(micros(watermark), self._step)
        if state is None:
            return self._rewound(mark)
        try:
            saved = pickle.loads(zlib.decompress(state))
        except (zlib.error, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return self._rewound(mark)
        if not isinstance(saved, dict) or saved.get("format") != _STATE_FORMAT:
            return self._rewound(mark)
        if saved["fingerprint"] != self.binding.fingerprint():
            return self._rewound(saved["end"])
        del saved["format"]
        return _State(**saved)

    @staticmethod
    def _save(state: _State) -> bytes:
        return zlib.compress(pickle.dumps({"format": _STATE_FORMAT, **vars(state)}), 1)

    # the step -----------------------------------------------------------------------------

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Process the whole cells before ``now`` not processed yet; fit when the data allows.

        The state carries the end of the processed cells; ``watermark`` is used only when the
        state is missing or unreadable: the job then rewinds one training window before it and
        refits there (without either, it starts from the first stored point of its series).
        """
        current = self._restore(state, watermark)
        stop = self._stop(now)
        if current.end is None:
            current.end = self._first_cell(stop)
        written = 0
        while current.end is not None and current.end < stop:
            chunk_stop = min(stop, current.end + CHUNK_CELLS * self._step)
            written += self._advance(current, chunk_stop)
        done = None if current.end is None else instant(current.end)
        if current.bound is None:
            return JobResult(
                done, self._save(current), JobState.WAITING, self._waiting(current), written
            )
        message = f"{written} points written; model {current.version}"
        return JobResult(done, self._save(current), JobState.OK, message, written)

    def _stop(self, now: datetime) -> int:
        """The end of the whole cells to process: those ``lateness`` old, and sooner those that
        every series read has moved past (``reached``), never past ``now``."""
        stop = floor_to(micros(now - self.binding.lateness), self._step)
        if self.reached is not None:
            moment = self.reached(self.binding.read)
            if moment is not None:
                stop = max(stop, floor_to(micros(min(moment, now)), self._step))
        return stop

    def _first_cell(self, stop: int) -> int | None:
        """The start of a cell at most a day before the first point of the binding's series.

        One aggregate query in whole-day buckets (the stores' bucketing is epoch-aligned and
        DuckDB's refuses an interval of days and a time part together).
        """
        buckets = self.points.downsample(
            list(self.binding.read), None, instant(stop), timedelta(days=1), ["count"]
        )
        if buckets.num_rows == 0:
            return None
        first = int(np.min(buckets["bucket"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())))
        return floor_to(first, self._step)

    def _waiting(self, state: _State) -> str:
        cells = self._window // self._step
        gate = state.gate
        if state.end is None or gate is None or gate.first is None:
            names = ", ".join(self.binding.read_names)
            return (
                f"{WAITING} 0 of {cells} rows in the training window (no cell has all of "
                f"{names} yet)"
            )
        start = max(gate.first, state.end - self._window)
        held = gate.count(start, state.end)
        return (
            f"{WAITING} {held} of {cells} rows in the training window from "
            f"{instant(start).isoformat()} (at least {self._min_rows} complete rows needed)"
        )

    def _advance(self, state: _State, stop: int) -> int:
        """Grid and process the cells ``[state.end, stop)``; return the points written."""
        assert state.end is not None
        start = state.end
        read = list(self.binding.read)
        batch = self.points.read(read, instant(start), instant(stop))
        grid, state.carry = resample(batch, read, start, stop, self._step, self._gap, state.carry)
        position = 0
        if state.bound is None:
            assert state.gate is not None
            state.gate.feed(grid.cells, grid.complete())
            position = self._first_fit(state, grid)
        written = 0
        while state.bound is not None:
            refit = np.iinfo(np.int64).max if state.next_refit is None else state.next_refit
            upto = int(np.searchsorted(grid.cells, refit))
            upto = max(upto, position)
            written += self._write(state.bound.apply(grid.part(position, upto)))
            position = upto
            if position == grid.cells.size:
                break
            assert self._refit is not None
            self._fit(state, refit)
            state.next_refit = refit + self._refit
        state.end = stop
        return written

    def _first_fit(self, state: _State, grid: Grid) -> int:
        """Fit at the first cell end the gate allows; the row the model takes over from."""
        assert state.gate is not None
        ends = grid.cells + self._step
        while (end := state.gate.ready(ends)) is not None:
            if self._fit(state, end):
                state.gate = None
                state.next_refit = None if self._refit is None else end + self._refit
                return int(np.searchsorted(grid.cells, end))
            state.gate.not_before = end + self._retry
        return grid.cells.size

    def _fit(self, state: _State, end: int) -> bool:
        """Fit on the window before ``end`` re-read from the store; False if it waits for data."""
        start = end - self._window
        first = floor_to(start - self._gap, self._step)
        read = list(self.binding.read)
        batch = self.points.read(read, instant(first), instant(end))
        empty = Carry.empty(len(read))
        grid = resample(batch, read, first, end, self._step, self._gap, empty)[0].rows(start, end)
        if int(grid.complete().sum()) < self._min_rows:
            return False
        bound = state.bound or bind(self.binding)
        try:
            fit = bound.fit(grid)
        except ModelError as err:
            if str(err).startswith(WAITING):
                return False
            raise
        state.bound = bound
        state.version = fit.version
        self.versions.record(
            ModelVersion(
                binding=self.binding.name,
                asset=self.binding.asset,
                kind=self.binding.kind,
                version=fit.version,
                fitted_at=instant(end),
                train_start=instant(start),
                train_end=instant(end),
                rows=fit.rows,
                params=fit.params,
                metrics=fit.metrics,
            )
        )
        return True

    def _write(self, outputs: Outputs) -> int:
        """Upsert the finite output values as good points of the derived series."""
        parts = []
        for output, (cells, values) in outputs.items():
            finite = np.isfinite(values)
            count = int(finite.sum())
            if count:
                parts.append(
                    pa.table(
                        {
                            "series_id": pa.array(
                                np.full(count, self.binding.outputs[output], np.int32)
                            ),
                            "ts": pa.array(cells[finite], pa.int64()).cast(POINT_SCHEMA[1].type),
                            "value": pa.array(values[finite], pa.float64()),
                            "quality": pa.array(np.zeros(count, np.uint8)),
                        },
                        schema=POINT_SCHEMA,
                    )
                )
        if not parts:
            return 0
        return self.points.write(pa.concat_tables(parts)).received
