"""Late points through the site's own ingest and engine: judged at their own times, raised once.

A pump's vibration at one reading every 10 s, delivered every 5 minutes through the site's ingest
pipeline while the engine's jobs run on a simulated clock (5-minute ticks), as under ``serve``.
Some readings come late: a backlog two hours old after a link outage (every reading newer than
those judged), and an import filling gaps between readings already judged. The alarms must be
those of a run over the complete history (``valueloop run``), each raised once, at the reading's
own time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from valueloop.alarms.book import AlarmBook
from valueloop.connectors.base import FieldDelivery, readings
from valueloop.engine.book import JobBook
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.site import Site, open_site

T0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
EXCURSIONS = [(70.0, 72.0), (119.0, 125.0)]
"""Minutes after :data:`T0` when the pump vibrates at 9 mm/s."""
END = T0 + timedelta(hours=3)
EVERY = timedelta(seconds=10)
DELIVERY = timedelta(minutes=5)
TICK = timedelta(minutes=5)
SERIES = "works/pumps/line-1/pump-1/vibration"
KEY = "vibration_high:hi@pump-1"
SITE = """
site: {name: works, timezone: UTC}
asset_types:
  pump:
    signals: {vibration: {unit: mm/s, expected_interval: 10s}}
    alarms:
      - {name: vibration_high, signal: vibration, limits: {hi: 7.1}, deadband: 0.5,
         on_delay: 20s, off_delay: 30s, priority: medium}
assets:
  - {path: pumps/line-1/pump-1, type: pump}
"""


def at(minutes: float) -> datetime:
    """``minutes`` after :data:`T0`."""
    return T0 + timedelta(minutes=minutes)


def vibration(excursions: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Readings every 10 s over three hours: 3 mm/s with noise, 9 mm/s within each excursion
    ``[from, to)`` (minutes after :data:`T0`)."""
    count = (END - T0) // EVERY
    stamps = np.datetime64(T0.replace(tzinfo=None), "us") + np.arange(count) * np.timedelta64(
        EVERY // timedelta(microseconds=1), "us"
    )
    minutes = np.arange(count) * EVERY.total_seconds() / 60
    values = 3.0 + np.random.default_rng(5).normal(0, 0.2, count)
    for start, stop in excursions:
        values[(minutes >= start) & (minutes < stop)] = 9.0
    return stamps, values


@dataclass(frozen=True)
class Delivery:
    """Readings of ``[start, stop)`` (minutes after :data:`T0`) that reach the site at ``at``."""

    at: datetime
    start: float
    stop: float


def on_time() -> list[Delivery]:
    """Each 5 minutes of readings delivered as they end."""
    count = (END - T0) // DELIVERY
    return [Delivery(at(5 * (n + 1)), 5 * n, 5 * (n + 1)) for n in range(count)]


def open_works(folder: Path) -> Site:
    folder.mkdir()
    (folder / "site.yaml").write_text(SITE)
    return open_site(folder / "site.yaml", folder / "data")


def serve(site: Site, series: tuple[np.ndarray, np.ndarray], deliveries: list[Delivery]) -> None:
    """Run the site's jobs from :data:`T0` past :data:`END`, storing each delivery through the
    ingest pipeline when its time comes (after that tick's jobs, as a connector's delivery lands
    between two ticks)."""
    stamps, values = series
    minutes = (stamps - stamps[0]).astype("timedelta64[s]").astype(float) / 60
    engine = open_engine(site, SimulatedClock(T0))
    for delivery in sorted(deliveries, key=lambda d: d.at):
        engine.run_until(delivery.at, step=TICK)
        keep = (minutes >= delivery.start) & (minutes < delivery.stop)
        rows = readings(
            [SERIES] * int(keep.sum()),
            pa.array(stamps[keep], pa.timestamp("us", tz="UTC")),
            pa.array(values[keep], pa.float64()),
        )
        site.pipeline.ingest_readings(FieldDelivery(rows), "pump-1")
    engine.run_until(END + timedelta(minutes=10), step=TICK)


Alarm = tuple[datetime, float, datetime | None]


def alarms(site: Site) -> list[Alarm]:
    """The pump's alarms: when raised, at what value, when cleared; oldest first."""
    rows = AlarmBook(site.store).list(include_normal=True).to_pylist()
    return sorted(
        (row["raised_at"], row["value_at_raise"], row["cleared_at"])
        for row in rows
        if row["key"] == KEY
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Alarm]]:
    """The alarms of a run over the complete history, stored before it."""
    site = open_works(tmp_path_factory.mktemp("late") / "complete")
    try:
        stamps, values = vibration(EXCURSIONS)
        rows = readings(
            [SERIES] * len(stamps),
            pa.array(stamps, pa.timestamp("us", tz="UTC")),
            pa.array(values, pa.float64()),
        )
        site.pipeline.ingest_readings(FieldDelivery(rows), "pump-1")
        open_engine(site, SimulatedClock(T0)).run_until(END, step=timedelta(hours=1))
        yield alarms(site)
    finally:
        site.close()


def test_a_backlog_from_two_hours_ago_raises_and_clears_its_alarm_at_its_own_times(
    tmp_path: Path, reference: list[Alarm]
) -> None:
    site = open_works(tmp_path / "outage")
    try:
        outage = [d for d in on_time() if not 60 <= d.start < 175]
        backlog = Delivery(at(180), 60, 175)  # the link is back: two hours of readings at once
        serve(site, vibration(EXCURSIONS), [*outage, backlog])
        raised = alarms(site)
        assert raised[0] == (at(70) + timedelta(seconds=20), 9.0, at(72) + timedelta(seconds=30))
        assert raised[1][0] == at(119) + timedelta(seconds=20)
        assert raised == reference
    finally:
        site.close()


def test_readings_filling_gaps_behind_judged_ones_are_judged_and_no_episode_raised_twice(
    tmp_path: Path, reference: list[Alarm]
) -> None:
    site = open_works(tmp_path / "gaps")
    try:
        # a data path dropped [70, 90) and [115, 120); an import fills them in later
        live = [d for d in on_time() if not (70 <= d.start < 90 or d.start == 115)]
        filled = [Delivery(at(150), 70, 90), Delivery(at(150), 115, 120)]
        serve(site, vibration(EXCURSIONS), [*live, *filled])
        raised = alarms(site)
        # the gap's episode, judged when it was filled: as if it had come on time
        assert raised[0] == reference[0]
        # the second episode was raised when first seen (its start was still missing); the
        # import shows it began a minute earlier, inside the same episode: nothing new
        assert len(raised) == 2
        assert raised[1] == (at(120) + timedelta(seconds=20), 9.0, at(125) + timedelta(seconds=30))
        assert reference[1][0] == at(119) + timedelta(seconds=20)
        before = AlarmBook(site.store).list(include_normal=True).to_pylist()
        JobBook(site.store).reset()  # valueloop run --fresh over the same period
        engine = open_engine(site, SimulatedClock(T0))
        engine.run_until(END + timedelta(minutes=10), step=TICK)
        assert AlarmBook(site.store).list(include_normal=True).to_pylist() == before
    finally:
        site.close()
