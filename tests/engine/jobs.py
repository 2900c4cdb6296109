"""Small real jobs for the engine's tests: each writes rows to the site's database idempotently."""

from __future__ import annotations

from datetime import datetime, timedelta

from valueloop.engine import JobResult, JobState
from valueloop.store.duckdb import DuckDBStore

_SAMPLES_DDL = (
    "CREATE TABLE IF NOT EXISTS samples (job VARCHAR, ts TIMESTAMPTZ, PRIMARY KEY (job, ts))"
)


class Sampler:
    """Like an analytics job: one sample per period of data time in (watermark, now].

    Its state counts the samples it wrote, so a resumed job is seen to carry it on.
    """

    def __init__(self, store: DuckDBStore, name: str, every: timedelta) -> None:
        self.name, self.every, self.store = name, every, store
        self.seen: list[tuple[datetime, datetime | None, bytes | None]] = []
        store.execute(_SAMPLES_DDL)

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        self.seen.append((now, watermark, state))
        start = now if watermark is None else watermark + self.every
        rows = self.store.execute(
            "INSERT INTO samples SELECT ?, unnest(generate_series(?::TIMESTAMPTZ, "
            "?::TIMESTAMPTZ, ?::INTERVAL)) ON CONFLICT DO NOTHING",
            [self.name, start, now, self.every],
        )
        written = int(state or b"0") + rows
        return JobResult(
            watermark=max(now, watermark or now), state=str(written).encode(), rows=rows
        )


class Counter:
    """Like an alarms job: at each new time, how many samples of ``source`` exist up to then."""

    def __init__(self, store: DuckDBStore, name: str, every: timedelta, source: str) -> None:
        self.name, self.every, self.store, self.source = name, every, store, source
        store.execute(_SAMPLES_DDL)
        store.execute(
            "CREATE TABLE IF NOT EXISTS counts (ts TIMESTAMPTZ PRIMARY KEY, samples BIGINT)"
        )

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        if watermark is not None and now <= watermark:
            return JobResult(watermark, state)
        rows = self.store.execute(
            "INSERT INTO counts SELECT ?, count(*) FROM samples WHERE job = ? AND ts <= ? "
            "ON CONFLICT (ts) DO UPDATE SET samples = excluded.samples",
            [now, self.source, now],
        )
        return JobResult(now, rows=rows)


class Reader:
    """A job whose input table may not exist yet: it raises (StoreError) until it does."""

    def __init__(self, store: DuckDBStore, name: str, every: timedelta) -> None:
        self.name, self.every, self.store = name, every, store

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        rows = self.store.query("SELECT count(*) AS n FROM inputs").column("n")[0].as_py()
        return JobResult(now, message=f"{rows} inputs")


class Trainer:
    """Waits until ``source`` holds ``minimum`` samples, as a model waits for its window."""

    def __init__(
        self, store: DuckDBStore, name: str, every: timedelta, source: str, minimum: int
    ) -> None:
        self.name, self.every, self.store = name, every, store
        self.source, self.minimum = source, minimum
        store.execute(_SAMPLES_DDL)

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        held = self.store.query(
            "SELECT count(*) AS n FROM samples WHERE job = ? AND ts <= ?", [self.source, now]
        )
        count = held.column("n")[0].as_py()
        if count < self.minimum:
            return JobResult(
                watermark,
                state,
                status=JobState.WAITING,
                message=f"{count} of {self.minimum} samples",
            )
        return JobResult(now, b"fitted", message=f"fitted on {count} samples")
