"""``Engine.serve`` on the real clock: it runs jobs, survives a failing book and stops promptly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from tests.engine.jobs import Sampler

from valueloop.engine import Engine, JobBook, JobState, RealClock
from valueloop.store.duckdb import DuckDBStore


def _serve(engine: Engine) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=engine.serve, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


def _stop(thread: threading.Thread, stop: threading.Event) -> float:
    """Set ``stop`` and return the seconds the thread took to end."""
    asked = time.perf_counter()
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()
    return time.perf_counter() - asked


def _wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.01)


def test_serve_runs_jobs_on_the_real_clock_and_stops_promptly(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    fast = Sampler(store, "fast", timedelta(milliseconds=20))
    hourly = Sampler(store, "hourly", timedelta(hours=1))
    engine = Engine(JobBook(store), [fast, hourly], clock=RealClock())
    thread, stop = _serve(engine)
    _wait_for(lambda: len(fast.seen) >= 3)
    assert _stop(thread, stop) < 1.0
    assert len(hourly.seen) == 1
    statuses = {status.name: status for status in engine.statuses()}
    assert statuses["fast"].status is JobState.OK and statuses["fast"].runs == len(fast.seen)
    store.close()


def test_serve_survives_a_failing_book(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    engine = Engine(
        JobBook(store), [Sampler(store, "fast", timedelta(milliseconds=10))], clock=RealClock()
    )
    store.close()
    with caplog.at_level(logging.ERROR, logger="valueloop.engine.scheduler"):
        thread, stop = _serve(engine)
        _wait_for(lambda: bool(caplog.records))
        assert thread.is_alive()
        assert _stop(thread, stop) < 1.0
    assert "trying again in 1 s" in caplog.records[0].getMessage()
