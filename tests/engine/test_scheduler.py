"""The engine over real jobs writing to a real DuckDB file, on a simulated clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.engine.jobs import Counter, Reader, Sampler, Trainer

from valueloop.engine import (
    Engine,
    Job,
    JobBook,
    JobResult,
    JobState,
    RealClock,
    SimulatedClock,
)
from valueloop.errors import ConfigError
from valueloop.store.duckdb import DuckDBStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TEN = 10 * MINUTE


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(tmp_path / "site.duckdb")
    yield opened
    opened.close()


def _count(store: DuckDBStore, sql: str) -> int:
    value: int = store.query(sql).column(0)[0].as_py()
    return value


def test_jobs_run_in_the_given_order_and_see_what_the_earlier_ones_wrote(
    store: DuckDBStore,
) -> None:
    clock = SimulatedClock(T0)
    engine = Engine(
        JobBook(store),
        [Sampler(store, "analytics", TEN), Counter(store, "alarms", TEN, "analytics")],
        clock=clock,
    )
    for minutes in (0, 10, 20):
        clock.advance_to(T0 + minutes * MINUTE)
        assert [run.name for run in engine.run_due()] == ["analytics", "alarms"]
    counts = store.query("SELECT samples FROM counts ORDER BY ts").column(0).to_pylist()
    assert counts == [1, 2, 3]


def test_the_reverse_order_sees_one_tick_late(store: DuckDBStore) -> None:
    clock = SimulatedClock(T0)
    engine = Engine(
        JobBook(store),
        [Counter(store, "alarms", TEN, "analytics"), Sampler(store, "analytics", TEN)],
        clock=clock,
    )
    engine.run_until(T0 + 2 * TEN)
    assert store.query("SELECT samples FROM counts ORDER BY ts").column(0).to_pylist() == [0, 1, 2]


def test_a_job_runs_when_due_once_per_round(store: DuckDBStore) -> None:
    clock = SimulatedClock(T0)
    engine = Engine(
        JobBook(store),
        [Sampler(store, "fast", TEN), Sampler(store, "slow", 3 * TEN)],
        clock=clock,
    )
    done = []
    for minutes in (0, 0, 5, 10, 25, 30, 31):
        clock.advance_to(T0 + minutes * MINUTE)
        done.append([run.name for run in engine.run_due()])
    assert done == [["fast", "slow"], [], [], ["fast"], ["fast"], ["slow"], []]
    next_runs = {status.name: status.next_run for status in engine.statuses()}
    assert next_runs == {"fast": T0 + 35 * MINUTE, "slow": T0 + 60 * MINUTE}  # now + every


def test_job_names_are_unique_and_periods_positive(store: DuckDBStore) -> None:
    book, clock = JobBook(store), SimulatedClock(T0)
    with pytest.raises(ConfigError, match="'analytics' is given twice"):
        Engine(
            book, [Sampler(store, "analytics", TEN), Sampler(store, "analytics", TEN)], clock=clock
        )
    with pytest.raises(ConfigError, match="'still' runs every 0:00:00"):
        Engine(book, [Sampler(store, "still", timedelta(0))], clock=clock)
    with pytest.raises(ConfigError, match="retry_min <= retry_max"):
        Engine(book, [], clock=clock, retry_min=MINUTE, retry_max=timedelta(seconds=1))


def test_a_new_engine_resumes_each_job_from_the_book(tmp_path: Path) -> None:
    path = tmp_path / "site.duckdb"
    store = DuckDBStore(path)
    clock = SimulatedClock(T0)
    Engine(JobBook(store), [Sampler(store, "analytics", TEN)], clock=clock).run_until(T0 + 3 * TEN)
    store.close()

    store = DuckDBStore(path)
    sampler = Sampler(store, "analytics", TEN)
    clock = SimulatedClock(T0 + 3 * TEN + MINUTE)
    engine = Engine(JobBook(store), [sampler], clock=clock)
    (status,) = engine.statuses()
    assert (status.status, status.watermark, status.runs) == (JobState.OK, T0 + 3 * TEN, 4)
    assert status.next_run == T0 + 4 * TEN
    assert engine.run_due() == []
    clock.advance_to(T0 + 4 * TEN)
    (run,) = engine.run_due()
    assert sampler.seen == [(T0 + 4 * TEN, T0 + 3 * TEN, b"4")]
    assert run.rows == 1 and JobBook(store).load("analytics") == (T0 + 4 * TEN, b"5")
    assert _count(store, "SELECT count(*) FROM samples") == 5
    store.close()


def test_failures_back_off_doubling_up_to_the_cap_and_never_stop_the_others(
    store: DuckDBStore, caplog: pytest.LogCaptureFixture
) -> None:
    second = timedelta(seconds=1)
    store.execute("CREATE TABLE inputs (x INTEGER)")
    engine = Engine(
        JobBook(store),
        [Reader(store, "reader", 10 * second), Sampler(store, "sampler", 10 * second)],
        clock=SimulatedClock(T0),
        retry_min=10 * second,
        retry_max=40 * second,
    )
    engine.run_until(T0)
    store.execute("DROP TABLE inputs")
    retries: list[timedelta] = []

    def watch(moment: datetime) -> None:
        reader = engine.statuses()[0]
        if reader.status is JobState.ERROR and reader.last_run == moment:
            assert reader.next_run is not None
            retries.append(reader.next_run - moment)

    with caplog.at_level(logging.WARNING, logger="valueloop.engine.scheduler"):
        report = engine.run_until(T0 + 120 * second, progress=watch)
    assert retries == [10 * second, 20 * second, 40 * second, 40 * second, 40 * second]
    assert [record.getMessage()[:23] for record in caplog.records] == [
        "job reader failed at 20"
    ] * 5
    assert report.jobs["reader"].failures == 5  # at 10, 20, 40, 80 and 120 s
    assert report.jobs["sampler"].runs == 12 and report.jobs["sampler"].failures == 0
    reader, sampler = engine.statuses()
    assert (reader.status, reader.failures, reader.watermark) == (JobState.ERROR, 5, T0)
    assert reader.message.startswith("StoreError: ") and "inputs" in reader.message
    assert sampler.status is JobState.OK and sampler.watermark == T0 + 120 * second

    store.execute("CREATE TABLE inputs (x INTEGER)")
    engine.run_until(T0 + 160 * second)
    reader = engine.statuses()[0]
    assert (reader.status, reader.message, reader.failures) == (JobState.OK, "0 inputs", 0)
    assert (reader.watermark, reader.next_run) == (T0 + 160 * second, T0 + 170 * second)
    assert reader.last_error is not None and reader.last_error.startswith("StoreError: ")
    assert engine.backoff(10_000) == 40 * second


class _Refusing:
    name, every = "refusing", MINUTE

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        return JobResult(now, status=JobState.ERROR, message="the sink refused the write")


def test_a_job_reporting_an_error_is_retried_like_one_that_raised(store: DuckDBStore) -> None:
    book = JobBook(store)
    engine = Engine(book, [_Refusing()], clock=SimulatedClock(T0), retry_min=MINUTE)
    (run,) = engine.run_due()
    assert (run.status, run.message) == (JobState.ERROR, "the sink refused the write")
    assert book.load("refusing") == (None, None)
    assert engine.statuses()[0].next_run == T0 + MINUTE


def test_waiting_is_shown_until_the_job_has_enough_data(store: DuckDBStore) -> None:
    clock = SimulatedClock(T0)
    engine = Engine(
        JobBook(store),
        [Sampler(store, "analytics", TEN), Trainer(store, "model", TEN, "analytics", 3)],
        clock=clock,
    )
    engine.run_due()
    model = engine.statuses()[1]
    assert (model.status, model.message, model.watermark) == (
        JobState.WAITING,
        "1 of 3 samples",
        None,
    )
    assert model.next_run == T0 + TEN and model.failures == 0
    report = engine.run_until(T0 + 2 * TEN)
    assert (report.jobs["model"].runs, report.jobs["model"].failures) == (2, 0)
    model = engine.statuses()[1]
    assert (model.status, model.message) == (JobState.OK, "fitted on 3 samples")


def test_run_until_lands_on_until_and_a_second_run_does_no_extra_work(tmp_path: Path) -> None:
    path = tmp_path / "site.duckdb"
    until = T0 + 25 * MINUTE
    store = DuckDBStore(path)
    clock = SimulatedClock(T0)
    jobs: list[Job] = [Sampler(store, "analytics", TEN), Counter(store, "alarms", TEN, "analytics")]
    ticks: list[datetime] = []
    report = Engine(JobBook(store), jobs, clock=clock).run_until(until, progress=ticks.append)
    assert clock.now() == until
    assert ticks == [T0, T0 + TEN, T0 + 2 * TEN, until]
    assert (report.ticks, report.runs, report.failures, report.rows) == (4, 6, 0, 6)
    assert report.jobs["analytics"].runs == 3 and report.jobs["analytics"].rows == 3
    assert report.seconds > 0
    store.close()

    store = DuckDBStore(path)
    sampler = Sampler(store, "analytics", TEN)
    jobs = [sampler, Counter(store, "alarms", TEN, "analytics")]
    again = Engine(JobBook(store), jobs, clock=SimulatedClock(T0)).run_until(until)
    assert again.ticks == 4 and again.rows == 0 and again.runs > 0
    assert {watermark for _, watermark, _ in sampler.seen} == {T0 + 2 * TEN}
    assert _count(store, "SELECT count(*) FROM samples") == 3
    assert _count(store, "SELECT count(*) FROM counts") == 3
    store.close()


def test_run_until_with_a_step_and_its_refusals(store: DuckDBStore) -> None:
    clock = SimulatedClock(T0)
    engine = Engine(JobBook(store), [Sampler(store, "analytics", TEN)], clock=clock)
    report = engine.run_until(T0 + TEN, step=MINUTE)
    assert (report.ticks, report.runs) == (11, 2)
    with pytest.raises(ConfigError, match="already at 2026-03-01T00:10:00"):
        engine.run_until(T0)
    with pytest.raises(ConfigError, match="positive"):
        engine.run_until(T0 + 2 * TEN, step=timedelta(0))
    with pytest.raises(ConfigError, match="simulated clock, not a RealClock"):
        Engine(JobBook(store), [], clock=RealClock()).run_until(T0)


def test_idle_ticks_cost_microseconds(store: DuckDBStore) -> None:
    clock = SimulatedClock(T0)
    engine = Engine(JobBook(store), [Sampler(store, "daily", timedelta(days=1))], clock=clock)
    day, tick = timedelta(days=1), timedelta(seconds=4)
    report = engine.run_until(T0 + day - tick, step=tick)
    assert report.ticks == 21_600 and report.runs == 1
    assert report.seconds / report.ticks < 50e-6
