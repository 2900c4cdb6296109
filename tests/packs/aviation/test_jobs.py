"""The aviation pack's jobs through the engine, on five FD001 engines near their end: the loop.

The fleet is observed until its review instant; the jobs collect the replay, predict, plan,
propose, approve (the site's policy is ``auto`` here), execute and account, and a second run over
the same period writes nothing.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from valueloop.datasets.cmapss import cmapss_path, load_cmapss, load_true_rul
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.engine.scheduler import RunReport
from valueloop.packs.aviation import PACK
from valueloop.packs.aviation.fleet import fleets
from valueloop.packs.aviation.jobs import STAGES, CollectJob, job_name, review_id
from valueloop.packs.base import Period
from valueloop.site import Site, open_site

UNITS = (20, 31, 34, 35, 42)
"""Test engines of FD001 with 8 to 20 cycles left: their shop visits fall in the first week."""
ENGINES = len(UNITS)
TABLES = ("predictions", "plans", "plan_assignments", "work_orders", "ledger", "runs", "audit")


def small_site(folder: Path) -> Path:
    """The pack's site with five of its test engines, every order approved by the policy."""
    with gzip.open(cmapss_path("FD001", "test"), "rt") as handle:
        lines = [line for line in handle.read().splitlines() if int(line.split()[0]) in UNITS]
    replay = folder / "five_engines.txt"
    replay.write_text("\n".join(lines) + "\n")
    document = yaml.safe_load(PACK.site_file.read_text())
    document["assets"] = [
        {"path": f"fleet/FD001/engine-{unit:03d}", "type": "turbofan"} for unit in UNITS
    ]
    document["connectors"][0]["file"] = str(replay)
    document["policy"]["approval"] = "auto"
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def counts(site: Site) -> dict[str, int]:
    """Rows of each book a review writes."""
    return {
        table: int(site.store.query(f"SELECT count(*) AS n FROM {table}").column("n")[0].as_py())
        for table in TABLES
    }


@dataclass
class Run:
    site: Site
    period: Period
    report: RunReport


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("aviation")
    site = open_site(small_site(folder), folder / "data")
    assert PACK.period is not None
    period = PACK.period(site)
    engine = open_engine(site, SimulatedClock(period.start))
    report = engine.run_until(period.until, step=period.step)
    yield Run(site, period, report)
    site.close()


def test_the_period_runs_from_the_first_cycle_to_a_week_after_the_review(run: Run) -> None:
    (fleet,) = fleets(run.site)
    review = fleet.spec.observed_until
    cycles = load_cmapss("FD001", "test").filter(pc.is_in(pc.field("unit"), pa.array(UNITS)))
    longest = pc.max(cycles.column("cycle")).as_py()
    assert run.period.start == review - timedelta(hours=12) * (longest - 1)
    assert run.period.until == review + timedelta(days=7)
    assert run.period.step == timedelta(hours=12)
    assert run.report.failures == 0
    names = {job_name(stage, fleet) for stage in STAGES}
    assert names <= set(run.report.jobs)


def test_the_review_predicts_plans_proposes_and_books_the_fleet(run: Run) -> None:
    site = run.site
    (fleet,) = fleets(site)
    assert PACK.summary is not None and PACK.summary_rows is not None
    summary: dict[str, Any] = PACK.summary(site)
    assert summary["run_id"] == review_id(fleet)
    assert summary["engines"] == ENGINES and summary["points_ingested"] > 0
    assert summary["plan_status"] in ("OPTIMAL", "FEASIBLE")
    assert set(summary["policies"]) == {"run_to_failure", "fixed_interval", "predictive"}
    assert summary["policies"]["run_to_failure"]["failures"] == ENGINES
    assert summary["ledger_intact"] is True
    truth = load_true_rul("FD001").filter(pc.is_in(pc.field("unit"), pa.array(UNITS)))
    stored = site.store.query("SELECT g.true_rul FROM ground_truth g ORDER BY asset").column(
        "true_rul"
    )
    assert stored.to_pylist() == [float(v) for v in truth.column("rul").to_pylist()]
    rows = dict(PACK.summary_rows(summary))
    assert rows["collect"].startswith(f"{summary['points_ingested']:,} points")


def test_orders_due_in_the_week_are_approved_by_the_policy_and_completed(run: Run) -> None:
    site = run.site
    summary = PACK.summary(site) if PACK.summary else {}
    orders = site.work_orders.list().to_pylist()
    executed = [o for o in orders if o["status"] == "completed"]
    assert executed and summary["work_orders_executed"] == len(executed)
    assert all(o["due_at"] <= run.period.until for o in executed)
    assert {o["actual_cost"] for o in executed} == {2.0e6}
    trail = site.work_orders.audit_trail(executed[0]["order_id"]).to_pylist()
    steps = [(row["action"], row["actor"]) for row in trail]
    assert steps[:3] == [
        ("propose", "planner:cp-sat"),
        ("approve", "policy:auto"),
        ("approved", "policy:auto"),
    ]
    assert steps[3][0] == "dispatched" and steps[4] == ("completed", "executor:replay")
    restored = summary["restored_engines_rul"]
    assert set(restored) == {o["asset"] for o in executed}
    assert min(restored.values()) > 60  # a restored engine has most of its life ahead


def test_a_second_run_over_the_same_period_does_no_new_work(run: Run) -> None:
    site = run.site
    before, points = counts(site), site.points.info()[0].points
    engine = open_engine(site, SimulatedClock(run.period.start))
    again = engine.run_until(run.period.until, step=run.period.step)
    assert again.rows == 0 and again.failures == 0
    assert counts(site) == before and site.points.info()[0].points == points


def test_collecting_in_other_steps_stores_the_same_points(run: Run, tmp_path: Path) -> None:
    site = open_site(small_site(tmp_path), tmp_path / "data")
    try:
        (fleet,) = fleets(site)
        job = CollectJob(site, fleet, fleet.replay())
        watermark, state = None, None
        moment = run.period.start
        while moment <= fleet.spec.observed_until:
            result = job.step(moment, watermark, state)
            watermark, state = result.watermark, result.state
            moment += timedelta(days=5)
        job.step(fleet.spec.observed_until, watermark, state)
        ids = [i for asset in fleet.assets for i in fleet.series.ids[asset]]
        mine = site.points.read(ids, None, fleet.spec.observed_until + timedelta(seconds=1))
        theirs = run.site.points.read(ids, None, fleet.spec.observed_until + timedelta(seconds=1))
        assert mine.num_rows == theirs.num_rows
        assert pc.all(pc.equal(mine.column("value"), theirs.column("value"))).as_py()
    finally:
        site.close()
