"""Engine benchmark: a point stored to its anomaly alarm, under load; the engine's cost per step.

python bench/engine.py [--seconds 120] [--machines 25] [--rate-hz 100]

1. Latency. A site of ``machines`` machines with four signals each, sampled at ``rate_hz``
   (25 x 4 x 100 Hz = 10,000 points/s), is fed through the ingest pipeline in 100 ms batches by
   one thread while ``Engine.serve`` runs the site's jobs on the real clock in another: a PCA T2+Q
   detector bound to each machine (grid 100 ms, trained on its first 30 s) and an alarm on its
   score (no on-delay). Every few seconds one machine's vibration steps to five times its level
   for two seconds (an injected case). For each step, the latency is the wall time from the end of
   the write that stored its first faulty point to the moment its alarm row is in the book.
   Reported beside the ingest's own write time for one batch (the floor any reaction sits on).
2. Overhead. The same number of trivial jobs stepped by the engine (simulated clock, one book
   write per step) beside the same steps called in a plain loop: the engine's cost per job step.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.connectors.base import Delivery
from valueloop.engine.book import JobBook
from valueloop.engine.build import open_engine
from valueloop.engine.clock import RealClock, SimulatedClock
from valueloop.engine.job import JobResult
from valueloop.engine.scheduler import Engine
from valueloop.site import Site, open_site

SIGNALS = ("vibration", "temperature", "power", "pressure")
LEVELS = np.array([2.0, 55.0, 40.0, 6.0])
NOISE = np.array([0.05, 0.1, 0.3, 0.02])
BATCH_S = 0.1
TRAIN_S = 30
FAULT_EVERY_S = 4.0
FAULT_FOR_S = 2.0


def _site_text(machines: int) -> str:
    return f"""
site: {{name: bench, timezone: UTC, currency: EUR}}
asset_types:
  machine:
    signals: {{{", ".join(f"{name}: {{unit: ''}}" for name in SIGNALS)}}}
    analytics:
      - {{name: health, kind: pca_t2q, signals: [{", ".join(SIGNALS)}],
         fit: {{window: {TRAIN_S}s, min_points: 100}}, resample: 100ms, threshold: 0.99}}
    alarms:
      - {{name: health_anomaly, analytics: health, priority: high, off_delay: 1s}}
assets:
  - {{path: "hall/line/machine-{{001..{machines:03d}}}", type: machine}}
"""


class Feeder:
    """Writes the machines' readings through the ingest pipeline, in real time, with faults."""

    def __init__(self, site: Site, machines: int, rate_hz: float) -> None:
        self.site = site
        self.machines = machines
        self.rate_hz = rate_hz
        paths = [
            site.model.path(f"machine-{number:03d}", signal)
            for number in range(1, machines + 1)
            for signal in SIGNALS
        ]
        ids = site.registry.lookup(paths).column("series_id").to_numpy()
        self.ids = ids.reshape(machines, len(SIGNALS)).astype(np.int32)
        self.rng = np.random.default_rng(3)
        self.faults: list[dict[str, Any]] = []
        self.write_seconds: list[float] = []
        self.points = 0
        self.stop = threading.Event()

    def _batch(self, start: float, end: float) -> tuple[pa.Table, dict[str, Any] | None]:
        stamps = (
            np.arange(np.ceil(start * self.rate_hz), np.ceil(end * self.rate_hz)) / self.rate_hz
        )
        rows = stamps.size
        values = LEVELS + self.rng.normal(0, 1, (self.machines, rows, len(SIGNALS))) * NOISE
        fault = None
        since_start = start - self.began
        if since_start > TRAIN_S + 5:
            index = int((since_start - TRAIN_S - 5) // FAULT_EVERY_S)
            offset = (since_start - TRAIN_S - 5) - index * FAULT_EVERY_S
            if offset < FAULT_FOR_S:
                machine = index % self.machines
                values[machine, :, 0] *= 5.0
                if offset < BATCH_S:
                    fault = {"machine": machine, "first_ts": float(stamps[0])}
        table = pa.table(
            {
                "series_id": pa.array(np.repeat(self.ids.ravel(), rows), pa.int32()),
                "ts": pa.array(
                    np.tile((stamps * 1e6).astype("int64"), self.machines * len(SIGNALS)),
                    pa.timestamp("us", tz="UTC"),
                ),
                "value": pa.array(values.transpose(0, 2, 1).ravel()),
                "quality": pa.array(np.zeros(rows * self.ids.size, np.uint8)),
            }
        )
        return table, fault

    def run(self) -> None:
        self.began = time.time()
        last = self.began
        while not self.stop.is_set():
            time.sleep(max(0.0, last + BATCH_S - time.time()))
            now = time.time()
            batch, fault = self._batch(last, now)
            started = time.perf_counter()
            self.site.pipeline.ingest(Delivery(points=batch), "bench")
            self.write_seconds.append(time.perf_counter() - started)
            self.points += batch.num_rows
            if fault is not None:
                fault["stored_at"] = time.time()
                self.faults.append(fault)
            last = now


def latency(seconds: float, machines: int, rate_hz: float) -> dict[str, Any]:
    """Point stored -> alarm in the book, under the feeder's load."""
    with tempfile.TemporaryDirectory() as folder:
        site_file = Path(folder) / "site.yaml"
        site_file.write_text(_site_text(machines))
        site = open_site(site_file, Path(folder) / "data")
        engine = open_engine(site, RealClock())
        feeder = Feeder(site, machines, rate_hz)
        stop = threading.Event()
        threads = [
            threading.Thread(target=feeder.run, daemon=True),
            threading.Thread(target=engine.serve, args=(stop,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        seen: dict[int, float] = {}
        deadline = time.time() + seconds
        while time.time() < deadline:
            rows = site.store.query(
                "SELECT asset, epoch_us(raised_at) AS raised FROM alarms"
            ).to_pylist()
            now = time.time()
            for fault_number, fault in enumerate(feeder.faults):
                if fault_number in seen:
                    continue
                asset = f"machine-{fault['machine'] + 1:03d}"
                first = fault["first_ts"] * 1e6
                if any(
                    r["asset"] == asset and first - 1e5 <= r["raised"] <= first + 2e6 for r in rows
                ):
                    seen[fault_number] = now - fault["stored_at"]
            time.sleep(0.02)
        feeder.stop.set()
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        counted = [n for n, f in enumerate(feeder.faults) if f["stored_at"] < deadline - 3]
        faults = len(counted)
        delays = sorted(seen[n] for n in counted if n in seen)
        statuses = engine.statuses()
        site.close()
    ingest_rate = feeder.points / seconds
    return {
        "machines": machines,
        "signals": machines * len(SIGNALS),
        "rate_hz": rate_hz,
        "points_per_second": round(ingest_rate),
        "faults": faults,
        "alarmed": len(delays),
        "p50_s": round(statistics.median(delays), 3) if delays else None,
        "p99_s": round(float(np.percentile(delays, 99)), 3) if delays else None,
        "max_s": round(max(delays), 3) if delays else None,
        "write_p50_s": round(statistics.median(feeder.write_seconds), 4),
        "jobs": len(statuses),
        "job_step_mean_s": round(statistics.mean(s.seconds or 0.0 for s in statuses), 4),
    }


class _Noop:
    def __init__(self, number: int) -> None:
        self.name = f"noop-{number}"
        self.every = timedelta(seconds=1)

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        return JobResult(watermark=now, rows=0)


def overhead(jobs: int, ticks: int) -> dict[str, Any]:
    """The engine's cost per job step beside a plain loop over the same steps."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    work = [_Noop(number) for number in range(jobs)]
    began = time.perf_counter()
    for tick in range(ticks):
        for job in work:
            job.step(start + timedelta(seconds=tick), None, None)
    raw = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as folder:
        from valueloop.store.duckdb import DuckDBStore

        store = DuckDBStore(Path(folder) / "books.duckdb")
        engine = Engine(JobBook(store), work, clock=SimulatedClock(start))
        began = time.perf_counter()
        report = engine.run_until(start + timedelta(seconds=ticks - 1), step=timedelta(seconds=1))
        timed = time.perf_counter() - began
        store.close()
    steps = report.runs
    return {
        "jobs": jobs,
        "ticks": ticks,
        "steps": steps,
        "engine_ms_per_step": round(timed / steps * 1e3, 3),
        "plain_loop_ms_per_step": round(raw / steps * 1e3, 5),
        "overhead_ms_per_step": round((timed - raw) / steps * 1e3, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--machines", type=int, default=25)
    parser.add_argument("--rate-hz", type=float, default=100.0)
    args = parser.parse_args()
    measured = latency(args.seconds, args.machines, args.rate_hz)
    cost = overhead(jobs=20, ticks=200)
    console = Console()
    table = Table(title="point stored -> anomaly alarm, under load")
    for column in ("points/s", "faults", "alarmed", "p50 s", "p99 s", "max s", "batch write p50 s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{measured['points_per_second']:,}",
        str(measured["faults"]),
        str(measured["alarmed"]),
        str(measured["p50_s"]),
        str(measured["p99_s"]),
        str(measured["max_s"]),
        str(measured["write_p50_s"]),
    )
    console.print(table)
    steps = Table(title="engine cost per job step")
    for column in ("jobs", "steps", "engine ms/step", "plain loop ms/step", "overhead ms/step"):
        steps.add_column(column, justify="right")
    steps.add_row(
        str(cost["jobs"]),
        str(cost["steps"]),
        str(cost["engine_ms_per_step"]),
        str(cost["plain_loop_ms_per_step"]),
        str(cost["overhead_ms_per_step"]),
    )
    console.print(steps)
    path = write_result("engine", {"latency": measured, "overhead": cost})
    console.print(f"written to {path}")


if __name__ == "__main__":
    main()
