"""The job book: watermarks, states and schedules in the ``jobs`` table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from valueloop.engine import JobBook, JobResult, JobState
from valueloop.engine.book import STATUS_COLUMNS
from valueloop.store.duckdb import DuckDBStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_success_then_failure_keeps_the_watermark(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    book = JobBook(store)
    assert book.load("health") == (None, None)
    book.save_success("health", JobResult(T0, b"\x00state", rows=3), T0, T0 + HOUR, 0.25)
    book.save_failure("health", "StoreError: gone", T0 + HOUR, T0 + 2 * HOUR, 0.5)
    book.save_failure("health", "StoreError: gone again", T0 + 2 * HOUR, T0 + 3 * HOUR, 0.5)
    assert book.load("health") == (T0, b"\x00state")
    (row,) = book.statuses().to_pylist()
    assert tuple(row) == STATUS_COLUMNS
    assert row["status"] == "error" and row["message"] == "StoreError: gone again"
    assert (row["failures"], row["runs"]) == (2, 3)
    assert (row["last_run"], row["next_run"]) == (T0 + 2 * HOUR, T0 + 3 * HOUR)
    book.save_success("health", JobResult(T0 + HOUR, None, JobState.WAITING, "2 of 5"), T0, T0, 0.1)
    (row,) = book.statuses().to_pylist()
    assert (row["status"], row["message"], row["failures"], row["runs"]) == (
        "waiting",
        "2 of 5",
        0,
        4,
    )
    assert row["last_error"] == "StoreError: gone again"
    store.close()
    assert JobBook(DuckDBStore(tmp_path / "site.duckdb")).load("health") == (T0 + HOUR, None)


def test_a_first_failure_has_no_watermark(tmp_path: Path) -> None:
    book = JobBook(DuckDBStore(tmp_path / "site.duckdb"))
    book.save_failure("alarms", "ValueError: bad", T0, T0 + HOUR, 0.0)
    assert book.load("alarms") == (None, None)
    assert book.statuses().column("failures").to_pylist() == [1]


def test_reset_forgets_one_job_or_all(tmp_path: Path) -> None:
    book = JobBook(DuckDBStore(tmp_path / "site.duckdb"))
    for name in ("a", "b", "c"):
        book.save_success(name, JobResult(T0, b"s"), T0, T0 + HOUR, 0.0)
    assert book.reset("b") == 1
    assert book.load("b") == (None, None) and book.load("a") == (T0, b"s")
    assert book.reset() == 2
    assert book.statuses().num_rows == 0
