"""The engine: steps a site's jobs on one clock, in data-flow order, and keeps their books.

Jobs run in the order they are given (analytics before alarms before decisions), so at each tick a
job sees what the jobs before it wrote at that tick. A job is due when its ``next_run`` has come;
a job never run is due at once. A step that raises is contained: the job is retried with
exponential backoff while the others go on. Each job's schedule, watermark and state are kept in
memory, so an idle tick costs a comparison and a step reads nothing, and mirrored to the
:class:`~valueloop.engine.book.JobBook` after every step (one write), so that a new engine over
the same book resumes every job.

``serve`` steps the jobs on the real clock; ``run_until`` on a simulated clock as fast as the
machine allows (``valueloop run``, the demo and the tests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from valueloop.engine.book import JobBook
from valueloop.engine.clock import Clock, SimulatedClock
from valueloop.engine.job import Job, JobState
from valueloop.errors import ConfigError

logger = logging.getLogger(__name__)

_DUE_NOW = datetime.min.replace(tzinfo=UTC)
"""The ``next_run`` of a job never run: due at the next tick."""
_NOTHING_DUE = datetime.max.replace(tzinfo=UTC)
_BOOK_RETRY = 1.0
"""Seconds ``serve`` waits before trying again when the book fails."""
_MAX_WAIT = 1.0
"""Longest wait of ``serve`` between two looks at the clock, in seconds."""
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class JobRun:
    """One step of one job: how it ended, what it said, the rows it wrote and its wall seconds."""

    name: str
    status: JobState
    message: str
    rows: int
    seconds: float


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands, for the status page and ``GET /api/jobs`` (None is null in JSON).

    ``status`` is None for a job that has not run yet; ``next_run`` is None when it runs at the
    engine's next tick. ``last_run`` and ``next_run`` are clock times; ``watermark`` is the data
    time up to which the job has done its work; ``seconds`` is the wall duration of the last step;
    ``failures`` counts the failed steps since the last success and ``runs`` every step ever.
    """

    name: str
    status: JobState | None
    message: str
    watermark: datetime | None
    last_run: datetime | None
    next_run: datetime | None
    failures: int
    runs: int
    last_error: str | None
    seconds: float | None


@dataclass
class JobTotals:
    """What one job did during a run: steps, failed steps, rows written, wall seconds."""

    runs: int = 0
    failures: int = 0
    rows: int = 0
    seconds: float = 0.0

    def add(self, run: JobRun) -> None:
        """Count one step."""
        self.runs += 1
        self.failures += int(run.status is JobState.ERROR)
        self.rows += run.rows
        self.seconds += run.seconds


@dataclass(frozen=True)
class RunReport:
    """What :meth:`Engine.run_until` did: ticks, job steps, failed steps, rows and wall seconds."""

    ticks: int
    runs: int
    failures: int
    rows: int
    seconds: float
    jobs: dict[str, JobTotals] = field(default_factory=dict)
    """The totals of each job, by name, in the engine's order."""


@dataclass
class _Schedule:
    """A job with what the engine holds of it in memory, mirrored to the book."""

    job: Job
    next_run: datetime
    failures: int
    watermark: datetime | None
    state: bytes | None


def _check_jobs(jobs: Sequence[Job]) -> None:
    seen: set[str] = set()
    for job in jobs:
        if job.name in seen:
            raise ConfigError(f"job name {job.name!r} is given twice; job names must be unique")
        seen.add(job.name)
        if job.every <= timedelta(0):
            raise ConfigError(f"job {job.name!r} runs every {job.every}; give a positive period")


class Engine:
    """Runs ``jobs`` in the given order on ``clock``, keeping their watermarks in ``book``.

    A step that raises is retried after ``retry_min``, doubled at each failure in a row up to
    ``retry_max``; a success resets it. A job whose stored ``next_run`` lies more than its period
    ahead of the clock (the clock went back, as when a simulated run starts again over a period
    already run) is brought forward to one period from now: it then sees its watermark and does
    only the work not done yet. The engine reads the book once, when it is built: reset jobs
    (:meth:`JobBook.reset`) before building it.
    """

    def __init__(
        self,
        book: JobBook,
        jobs: Sequence[Job],
        *,
        clock: Clock,
        retry_min: timedelta = timedelta(seconds=1),
        retry_max: timedelta = timedelta(minutes=5),
    ) -> None:
        if retry_min <= timedelta(0) or retry_max < retry_min:
            raise ConfigError(
                f"retries need 0 < retry_min <= retry_max; got {retry_min} and {retry_max}"
            )
        _check_jobs(jobs)
        self.book = book
        self.clock = clock
        self.jobs = tuple(jobs)
        self._retry_min = retry_min // _MICROSECOND
        self._retry_max = retry_max // _MICROSECOND
        stored = {row["name"]: row for row in book.statuses().to_pylist()}
        now = clock.now()
        self._schedules = [_resume(book, job, stored.get(job.name), now) for job in self.jobs]
        self._earliest = self._next_due()

    def _next_due(self) -> datetime:
        return min((schedule.next_run for schedule in self._schedules), default=_NOTHING_DUE)

    def run_due(self) -> list[JobRun]:
        """Step every job due at the clock's time, once each, in order; return their steps.

        Raises :class:`~valueloop.errors.StoreError` if the book fails; a job's own error is
        recorded and never raised.
        """
        now = self.clock.now()
        if now < self._earliest:
            return []
        runs = [
            self._step(schedule, now) for schedule in self._schedules if schedule.next_run <= now
        ]
        self._earliest = self._next_due()
        return runs

    def _step(self, schedule: _Schedule, now: datetime) -> JobRun:
        job = schedule.job
        started = time.perf_counter()
        try:
            result = job.step(now, schedule.watermark, schedule.state)
        except Exception as err:
            seconds = time.perf_counter() - started
            return self._fail(schedule, now, f"{type(err).__name__}: {err}", seconds, err)
        seconds = time.perf_counter() - started
        status = JobState(result.status)
        if status is JobState.ERROR:
            error = result.message or "the job reported an error"
            return self._fail(schedule, now, error, seconds, None)
        next_run = now + job.every
        self.book.save_success(job.name, result, now, next_run, seconds)
        schedule.next_run, schedule.failures = next_run, 0
        schedule.watermark, schedule.state = result.watermark, result.state
        return JobRun(job.name, status, result.message, result.rows, seconds)

    def _fail(
        self,
        schedule: _Schedule,
        now: datetime,
        error: str,
        seconds: float,
        raised: Exception | None,
    ) -> JobRun:
        failures = schedule.failures + 1
        next_run = now + self.backoff(failures)
        logger.warning(
            "job %s failed at %s (%d in a row; next try at %s): %s",
            schedule.job.name,
            now.isoformat(),
            failures,
            next_run.isoformat(),
            error,
            exc_info=raised,
        )
        self.book.save_failure(schedule.job.name, error, now, next_run, seconds)
        schedule.next_run, schedule.failures = next_run, failures
        return JobRun(schedule.job.name, JobState.ERROR, error, 0, seconds)

    def backoff(self, failures: int) -> timedelta:
        """The wait before the next try after ``failures`` failed steps in a row (>= 1)."""
        doubled = self._retry_min << min(failures - 1, 64)
        return timedelta(microseconds=min(doubled, self._retry_max))

    def run_until(
        self,
        until: datetime,
        *,
        step: timedelta | None = None,
        progress: Callable[[datetime], None] | None = None,
    ) -> RunReport:
        """Move the simulated clock tick by tick from its time to ``until`` and run what is due.

        Ticks fall at the clock's time, then every ``step`` (default: the shortest period of the
        jobs), the last one exactly on ``until``. ``progress`` is called with each tick's time
        after its jobs ran. Needs a :class:`SimulatedClock` (ConfigError otherwise).
        """
        clock = self.clock
        if not isinstance(clock, SimulatedClock):
            raise ConfigError(
                f"run_until needs a simulated clock, not a {type(clock).__name__}; "
                "use serve on the real clock"
            )
        if until.tzinfo is None or until.utcoffset() is None:
            raise ConfigError(f"run until {until.isoformat()}: give a time with its time zone")
        start = clock.now()
        if until < start:
            raise ConfigError(
                f"cannot run until {until.isoformat()}: the clock is already at {start.isoformat()}"
            )
        if step is not None and step <= timedelta(0):
            raise ConfigError(f"the tick of a run must be positive, not {step}")
        tick = step or min((job.every for job in self.jobs), default=until - start)
        began = time.perf_counter()
        totals = {job.name: JobTotals() for job in self.jobs}
        ticks, moment = 0, start
        while True:
            clock.advance_to(moment)
            for run in self.run_due():
                totals[run.name].add(run)
            ticks += 1
            if progress is not None:
                progress(moment)
            if moment >= until:
                break
            moment = min(moment + tick, until)
        return RunReport(
            ticks=ticks,
            runs=sum(total.runs for total in totals.values()),
            failures=sum(total.failures for total in totals.values()),
            rows=sum(total.rows for total in totals.values()),
            seconds=time.perf_counter() - began,
            jobs=totals,
        )

    def serve(self, stop: threading.Event) -> None:
        """Run due jobs on the engine's (real) clock until ``stop`` is set.

        Between two rounds it waits until the earliest ``next_run``, at most a second, and
        returns as soon as ``stop`` is set. A failing book is logged and tried again a second
        later: the thread never dies of it.
        """
        while not stop.is_set():
            try:
                self.run_due()
            except Exception:
                logger.exception("the engine could not run its jobs; trying again in 1 s")
                stop.wait(_BOOK_RETRY)
                continue
            wait = (self._earliest - self.clock.now()).total_seconds()
            stop.wait(min(max(wait, 0.0), _MAX_WAIT))

    def statuses(self) -> list[JobStatus]:
        """Where each job stands, in the engine's order."""
        rows = {row["name"]: row for row in self.book.statuses().to_pylist()}
        return [_status(schedule, rows.get(schedule.job.name)) for schedule in self._schedules]


def _resume(book: JobBook, job: Job, row: dict[str, Any] | None, now: datetime) -> _Schedule:
    """The schedule of ``job`` from its row in the book (None: never run)."""
    if row is None:
        return _Schedule(job, _DUE_NOW, 0, None, None)
    watermark, state = book.load(job.name)
    next_run = min(row["next_run"], now + job.every)
    return _Schedule(job, next_run, row["failures"], watermark, state)


def _status(schedule: _Schedule, row: dict[str, Any] | None) -> JobStatus:
    next_run = None if schedule.next_run == _DUE_NOW else schedule.next_run
    if row is None:
        return JobStatus(schedule.job.name, None, "", None, None, next_run, 0, 0, None, None)
    return JobStatus(
        name=row["name"],
        status=JobState(row["status"]),
        message=row["message"],
        watermark=row["watermark"],
        last_run=row["last_run"],
        next_run=next_run,
        failures=row["failures"],
        runs=row["runs"],
        last_error=row["last_error"],
        seconds=row["seconds"],
    )
