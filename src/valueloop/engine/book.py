"""The job book: each job's watermark, state and schedule, in the site's ``jobs`` table.

One row per job, written after each of its steps, so that a restarted engine resumes every job
where it stopped: a successful step replaces the watermark and state; a failed one leaves them as
they were and only counts the failure. A step is one ``UPDATE`` (an ``INSERT`` the first time),
about a third of the cost of an ``INSERT ... ON CONFLICT`` in DuckDB. ``last_run`` and
``next_run`` are clock times (simulated under ``valueloop run``); ``seconds`` is the wall duration
of the last step.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from valueloop.engine.job import JobResult, JobState
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS jobs (
    name VARCHAR PRIMARY KEY,
    watermark TIMESTAMPTZ,
    state BLOB,
    status VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    last_run TIMESTAMPTZ NOT NULL,
    next_run TIMESTAMPTZ NOT NULL,
    failures INTEGER NOT NULL,
    runs BIGINT NOT NULL,
    last_error VARCHAR,
    seconds DOUBLE NOT NULL
)
"""

_UPDATE_SUCCESS = """
UPDATE jobs SET watermark = ?, state = ?, status = ?, message = ?, last_run = ?, next_run = ?,
    failures = 0, runs = runs + 1, seconds = ?
WHERE name = ?
"""
_INSERT_SUCCESS = """
INSERT INTO jobs (name, watermark, state, status, message, last_run, next_run, failures, runs,
                  last_error, seconds)
VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, NULL, ?)
"""
_UPDATE_FAILURE = """
UPDATE jobs SET status = ?, message = ?, last_run = ?, next_run = ?, failures = failures + 1,
    runs = runs + 1, last_error = ?, seconds = ?
WHERE name = ?
"""
_INSERT_FAILURE = """
INSERT INTO jobs (name, watermark, state, status, message, last_run, next_run, failures, runs,
                  last_error, seconds)
VALUES (?, NULL, NULL, ?, ?, ?, ?, 1, 1, ?, ?)
"""

STATUS_COLUMNS = (
    "name",
    "watermark",
    "status",
    "message",
    "last_run",
    "next_run",
    "failures",
    "runs",
    "last_error",
    "seconds",
)
"""The columns of :meth:`JobBook.statuses`: every column of ``jobs`` but the state blob."""


class JobBook:
    """The ``jobs`` table of a site's database."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def load(self, name: str) -> tuple[datetime | None, bytes | None]:
        """The watermark and state job ``name`` left at its last successful step (or Nones)."""
        rows = self._store.query(
            "SELECT watermark, state FROM jobs WHERE name = ?", [name]
        ).to_pylist()
        if not rows:
            return None, None
        return rows[0]["watermark"], rows[0]["state"]

    def save_success(
        self, name: str, result: JobResult, ran_at: datetime, next_run: datetime, seconds: float
    ) -> None:
        """Record a step that returned ``result``: its watermark, state, status and message.

        The failure count goes back to 0; ``seconds`` is the step's wall duration.
        """
        values = [
            result.watermark,
            result.state,
            JobState(result.status).value,
            result.message,
            ran_at,
            next_run,
            seconds,
        ]
        if not self._store.execute(_UPDATE_SUCCESS, [*values, name]):
            self._store.execute(_INSERT_SUCCESS, [name, *values])

    def save_failure(
        self, name: str, error: str, ran_at: datetime, next_run: datetime, seconds: float
    ) -> None:
        """Record a step that raised ``error``; the watermark and state stay as they were."""
        values = [JobState.ERROR.value, error, ran_at, next_run, error, seconds]
        if not self._store.execute(_UPDATE_FAILURE, [*values, name]):
            self._store.execute(_INSERT_FAILURE, [name, *values])

    def statuses(self) -> pa.Table:
        """Every job's row but its state blob (:data:`STATUS_COLUMNS`), by name."""
        return self._store.query(f"SELECT {', '.join(STATUS_COLUMNS)} FROM jobs ORDER BY name")

    def reset(self, name: str | None = None) -> int:
        """Forget job ``name`` (every job if None): its watermark, state and schedule.

        The job then starts from scratch at its next step, as ``valueloop run --fresh`` asks.
        Returns the number of jobs forgotten.
        """
        if name is None:
            return self._store.execute("DELETE FROM jobs")
        return self._store.execute("DELETE FROM jobs WHERE name = ?", [name])
