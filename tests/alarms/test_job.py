"""The alarm job on a real store: same alarms whatever the steps, reruns write nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from tests.alarms.helpers import (
    PRESSURE,
    TEMPERATURE,
    VIBRATION,
    at,
    points,
    telemetry_stale,
    vibration_hi,
)

from valueloop.alarms import AlarmBook, AlarmJob, alarm_id
from valueloop.alarms.evaluate import from_micros
from valueloop.engine.job import Job, JobResult
from valueloop.store.duckdb import DuckDBStore

END = 600


def history() -> pa.Table:
    """Ten minutes of compressor-1 at 1 Hz: vibration chattering around its limit twice,
    temperature silent from 200 s to 260 s, pressure bad at 400 s and silent after 550 s."""
    seconds = np.arange(END)
    rng = np.random.default_rng(3)
    chatter = 10 + 1.5 * np.sin(2 * np.pi * seconds / 17) + rng.normal(0, 0.2, END)
    episodes = ((seconds >= 100) & (seconds < 250)) | ((seconds >= 380) & (seconds < 470))
    vibration = np.where(episodes, chatter, 5.0)
    temperature = seconds[(seconds < 200) | (seconds >= 260)]
    pressure = seconds[seconds < 550]
    return pa.concat_tables(
        [
            points(VIBRATION, seconds.tolist(), vibration.tolist()),
            points(TEMPERATURE, temperature.tolist(), [60.0] * len(temperature)),
            points(
                PRESSURE,
                pressure.tolist(),
                [3.0] * len(pressure),
                [2 if s == 400 else 0 for s in pressure],
            ),
        ]
    )


def alarm_job(store: DuckDBStore, **options: timedelta) -> AlarmJob:
    return AlarmJob(
        store,
        AlarmBook(store),
        [vibration_hi(on=2, off=10, deadband=2), replace(vibration_hi(limit=11.2), level="hihi")],
        [telemetry_stale()],
        **options,
    )


def run(job: Job, times: Iterable[datetime]) -> list[JobResult]:
    """Step ``job`` at each of ``times`` as the engine does, handing back watermark and state."""
    results: list[JobResult] = []
    watermark, state = None, None
    for now in times:
        result = job.step(now, watermark, state)
        results.append(result)
        watermark, state = result.watermark, result.state
    return results


def alarm_rows(store: DuckDBStore) -> list[dict[str, object]]:
    return AlarmBook(store).list(include_normal=True, limit=1000).to_pylist()


@pytest.fixture
def stores(tmp_path: Path) -> list[DuckDBStore]:
    made = []
    for name in ("steps", "irregular", "once"):
        store = DuckDBStore(tmp_path / f"{name}.duckdb")
        store.write(history())
        made.append(store)
    return made


def test_the_same_alarms_whatever_the_steps(stores: list[DuckDBStore]) -> None:
    steps, irregular, once = stores
    end = at(END + 20)
    run(alarm_job(steps), (at(s) for s in range(0, END + 21, 7)))
    rng = np.random.default_rng(11)
    moments = np.cumsum(rng.integers(1, 60, 40))
    run(alarm_job(irregular), [*(at(int(s)) for s in moments if s < END + 20), end])
    run(alarm_job(once, chunk=timedelta(seconds=45)), [end])
    rows = alarm_rows(once)
    assert alarm_rows(steps) == rows == alarm_rows(irregular)
    by_key: dict[str, list[tuple[object, object]]] = {}
    for row in sorted(rows, key=lambda r: str(r["raised_at"])):
        by_key.setdefault(str(row["key"]), []).append((row["raised_at"], row["cleared_at"]))
    tamed = by_key["vibration_high:hi@compressor-1"]
    assert len(tamed) == 2  # one alarm per chattering episode
    assert [cleared for _, cleared in tamed] == [at(260), at(480)]
    assert len(by_key["vibration_high:hihi@compressor-1"]) > 10  # no deadband, no delay
    assert by_key["telemetry:stale@compressor-1"] == [
        (at(204), at(260)),  # temperature silent since 199 s
        (at(400), at(401)),  # pressure's bad reading
        (at(554), None),  # pressure silent since 549 s
    ]


def test_a_rerun_from_scratch_writes_nothing_twice(stores: list[DuckDBStore]) -> None:
    store = stores[0]
    times = [at(s) for s in range(0, END + 21, 30)]
    first = run(alarm_job(store), times)
    before = alarm_rows(store)
    assert sum(result.rows for result in first) >= len(before) > 3
    again = run(alarm_job(store), times)
    assert sum(result.rows for result in again) == 0
    assert alarm_rows(store) == before


def test_first_step_starts_at_the_earliest_point_and_keeps_json_state(
    stores: list[DuckDBStore],
) -> None:
    job = alarm_job(stores[0], lateness=timedelta(seconds=5))
    result = job.step(at(150), None, None)
    assert result.watermark == at(145)
    state = json.loads(result.state or b"")
    assert set(state) == {"limits", "stale", "origin"}
    assert from_micros(state["origin"]) == at(0)  # the earliest point stored
    assert state["stale"]["horizon"] is not None
    assert alarm_rows(stores[0])[0]["raised_at"] >= at(100)


def test_an_empty_store_starts_at_now_and_stale_data_alarms_without_new_points(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(tmp_path / "empty.duckdb")
    job = alarm_job(store)
    result = job.step(at(0), None, None)
    assert result.watermark == at(-2) and result.rows == 0
    store.write(
        pa.concat_tables([points(s, range(10), [1.0] * 10) for s in (TEMPERATURE, PRESSURE)])
    )
    run_after = job.step(at(12), result.watermark, result.state)
    assert alarm_rows(store) == []
    later = job.step(at(20), run_after.watermark, run_after.state)  # no point since 9 s
    assert later.rows == 1
    [raised] = alarm_rows(store)
    assert (raised["key"], raised["raised_at"], raised["state"]) == (
        "telemetry:stale@compressor-1", at(14), "unack",
    )  # fmt: skip


def test_the_job_ends_expired_shelves(stores: list[DuckDBStore]) -> None:
    store = stores[0]
    job = alarm_job(store)
    first = job.step(at(200), None, None)
    book = AlarmBook(store)
    raised = book.list().to_pylist()[-1]["alarm_id"]
    book.shelve(raised, actor="maria", until=at(300), at=at(200))
    job.step(at(299), first.watermark, first.state)
    assert book.get(raised)["shelved"]
    job.step(at(300), first.watermark, first.state)
    assert not book.get(raised)["shelved"]
    assert book.audit_trail(raised).column("actor").to_pylist() == ["maria", "system"]
    assert raised == alarm_id(str(book.get(raised)["key"]), book.get(raised)["raised_at"])
