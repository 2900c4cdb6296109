"""The aviation pack's engine jobs: collect, analyse, optimise, act and account, per fleet.

Data time is the replay's time. The collect job stores the cycles that have landed by the clock's
time; the fleet is observed until its connector's ``observed_until`` instant, at which the fleet is
reviewed once: the analyse job predicts every engine's remaining life (fitting the model on the
training engines first), the optimise job plans the shop visits with the site's maintenance
planner (CP-SAT), the act job proposes the plan's overhauls as work orders, and the account job
plays the three policies against the true remaining lives and books them in the ledger, with the
review's summary. Each job waits for the watermark of the one before it, so a review sees the
whole history whatever the split of time into steps.

The site's planner (``decisions.planners``, marked ``by: aviation``) is run by this pack, not by
the engine's planner job: its outlook is the RUL model's, in flight cycles. The act job also runs
all the time: it approves what the site's policy approves by itself (``approval: auto``), and
executes the fleet's approved overhauls once they are due: the replay restores the engine, its
healthy cycles are stored and it is predicted again from those that have landed.

Every job is idempotent: a review is written once (predictions, plan, orders, ledger and run are
keyed by the review), and a second run over the same period finds its watermarks past the work.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from valueloop.act.workorders import OrderStatus, Proposal
from valueloop.analytics.records import GroundTruth
from valueloop.connectors.base import Delivery
from valueloop.datasets.cmapss import load_true_rul
from valueloop.engine.book import JobBook
from valueloop.engine.job import Job, JobResult, JobState
from valueloop.ingest.pipeline import IngestReport
from valueloop.optimize.maintenance import EngineOutlook, MaintenancePlanner, MaintenanceProblem
from valueloop.optimize.records import MAINTENANCE_KIND
from valueloop.packs.aviation.account import account
from valueloop.packs.aviation.fleet import Fleet, fleets
from valueloop.packs.aviation.history import fleet_history
from valueloop.packs.aviation.replay import OVERHAUL_ACTIONS, OVERHAUL_SIGNAL, CmapssReplaySource
from valueloop.packs.aviation.rul import (
    fit_model,
    load_model,
    prediction_rows,
    training_lifetimes,
)
from valueloop.schema import POINT_SCHEMA

if TYPE_CHECKING:
    from valueloop.analytics.rul import GradientBoostingRUL
    from valueloop.site import Site

STAGES = ("collect", "analyse", "optimise", "act", "account")
ACT_EVERY = timedelta(seconds=5)
"""How often the act job looks for approved orders: an approval is executed within seconds."""
PLANNER_ACTOR = "planner:cp-sat"
EXECUTOR_ACTOR = "executor:replay"
AUTO_ACTOR = "policy:auto"
_MICROSECOND = timedelta(microseconds=1)
RESTORED = "restored:"
"""What the run id of a restored engine's prediction starts with (then its order's id)."""


def job_name(stage: str, fleet: Fleet) -> str:
    """The name of a fleet's job of ``stage``, e.g. ``aviation:collect:fleet-replay``."""
    return f"aviation:{stage}:{fleet.name}"


def review_id(fleet: Fleet) -> str:
    """The run id of the fleet's review: its predictions, plan, ledger and summary carry it."""
    return f"RUN-{fleet.name}-{fleet.spec.observed_until:%Y%m%dT%H%MZ}"


def _later(first: datetime | None, second: datetime) -> datetime:
    return second if first is None else max(first, second)


class _FleetJob:
    """What the jobs of one fleet share: the site, the fleet, the book of their watermarks."""

    stage: ClassVar[str]
    upstream: ClassVar[str]

    def __init__(self, site: Site, fleet: Fleet, every: timedelta) -> None:
        self.site = site
        self.fleet = fleet
        self.name = job_name(self.stage, fleet)
        self.every = every
        self.book = JobBook(site.store)

    @property
    def instant(self) -> datetime:
        """The instant the fleet is observed until: the review's data time."""
        return self.fleet.spec.observed_until

    def state_of(self, stage: str) -> tuple[datetime | None, bytes | None]:
        """The watermark and state of the fleet's job of ``stage``."""
        return self.book.load(job_name(stage, self.fleet))

    def _review(
        self, now: datetime, watermark: datetime | None, state: bytes | None
    ) -> JobResult | None:
        """The result of a step with nothing to do, if the review is done or not due yet."""
        if watermark is not None and watermark >= self.instant:
            return JobResult(watermark, state, message=f"reviewed at {self.instant.isoformat()}")
        ready, _ = self.state_of(self.upstream)
        if ready is None or ready < self.instant:
            upto = "nothing" if ready is None else f"up to {ready.isoformat()}"
            return JobResult(
                watermark,
                state,
                JobState.WAITING,
                f"the review at {self.instant.isoformat()} waits for {self.upstream} ({upto})",
            )
        return None


class CollectJob(_FleetJob):
    """Store the replay's cycles that have landed by the clock's time (dead letters once)."""

    stage = "collect"

    def __init__(self, site: Site, fleet: Fleet, replay: CmapssReplaySource) -> None:
        super().__init__(site, fleet, fleet.spec.cycle_interval)
        self.replay = replay

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Ingest the points with ``watermark < ts <= now``."""
        totals: dict[str, float] = json.loads(state) if state else {}
        report = IngestReport()
        if watermark is None:
            letters = self.replay.rejected()
            if letters.num_rows:
                delivery = Delivery(points=POINT_SCHEMA.empty_table(), rejected=letters)
                self.site.pipeline.ingest(delivery, self.fleet.name, report)
        for batch in self.replay.batches(watermark, now):
            self.site.pipeline.ingest(Delivery(points=batch), self.fleet.name, report)
        for key, value in (
            ("points", report.points_received),
            ("stored", report.points_inserted + report.points_replaced),
            ("dead_letters", report.dead_letters),
            ("seconds", report.seconds),
        ):
            totals[key] = totals.get(key, 0) + value
        stored = report.points_inserted + report.points_replaced
        return JobResult(
            _later(watermark, now),
            json.dumps(totals).encode(),
            rows=stored,
            message=f"{report.points_received:,} points, {report.dead_letters} dead letters",
        )


class AnalyseJob(_FleetJob):
    """Predict every engine's remaining life at the review (fitting the model once)."""

    stage = "analyse"
    upstream = "collect"

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Predict the fleet as it stands at the review, once its history is stored."""
        done = self._review(now, watermark, state)
        if done is not None:
            return done
        model = load_model(self.site, state.decode()) if state else None
        if model is None:
            model = fit_model(self.site, self.fleet)
        run_id = review_id(self.fleet)
        written = 0
        if not _has_predictions(self.site, run_id):
            history = fleet_history(
                self.site.points,
                self.fleet.series,
                self.fleet.assets,
                until=self.instant + _MICROSECOND,
            )
            predictions = model.predict(history.drop(["ts"]))
            rows = prediction_rows(self.fleet, run_id, predictions, model, self.instant)
            self.site.predictions.add(rows)
            written = rows.num_rows
        return JobResult(
            self.instant,
            model.version.encode(),
            rows=written,
            message=f"{written} engines predicted by {model.version}",
        )


def _has_predictions(site: Site, run_id: str) -> bool:
    found = site.store.query("SELECT count(*) AS n FROM predictions WHERE run_id = ?", [run_id])
    return bool(found.column("n")[0].as_py())


class OptimiseJob(_FleetJob):
    """Plan the shop visits that minimise expected cost, with the site's maintenance planner."""

    stage = "optimise"
    upstream = "analyse"

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Solve the review's maintenance problem once; the plan's id is the job's state."""
        done = self._review(now, watermark, state)
        if done is not None:
            return done
        _, version = self.state_of("analyse")
        model_version = version.decode() if version else ""
        plan_id = self._existing(model_version)
        if plan_id is None:
            plan = MaintenancePlanner(time_limit=self.fleet.planner.time_limit_s).solve(
                review_problem(self.site, self.fleet)
            )
            plan_id = self.site.plans.add(
                plan, kind=MAINTENANCE_KIND, starts_at=self.instant, model_version=model_version
            )
        header = self.site.plans.get(plan_id)
        return JobResult(
            self.instant,
            plan_id.encode(),
            rows=1,
            message=f"plan {plan_id}: {header['status']}, objective {header['objective']:,.0f}",
        )

    def _existing(self, model_version: str) -> str | None:
        """A plan of this review already recorded (a step repeated after a crash)."""
        rows = self.site.store.query(
            "SELECT p.plan_id FROM plans p WHERE p.kind = ? AND p.starts_at = ? "
            "AND p.model_version = ? AND EXISTS (SELECT 1 FROM plan_assignments a "
            "WHERE a.plan_id = p.plan_id AND a.asset = ?) ORDER BY p.created_at LIMIT 1",
            [MAINTENANCE_KIND, self.instant, model_version, self.fleet.assets[0]],
        )
        return None if rows.num_rows == 0 else str(rows.column("plan_id")[0].as_py())


def review_problem(site: Site, fleet: Fleet) -> MaintenanceProblem:
    """The maintenance problem of the fleet's review: its predictions, shop and economics."""
    rows = site.store.query(
        "SELECT asset, rul, lower, upper, interval FROM predictions WHERE run_id = ? "
        "ORDER BY asset",
        [review_id(fleet)],
    ).to_pylist()
    engines = [
        EngineOutlook(
            asset=row["asset"],
            rul=row["rul"],
            lower=min(row["lower"], row["rul"]),
            upper=max(row["upper"], row["rul"], 1e-3),
            interval=row["interval"],
        )
        for row in rows
    ]
    return MaintenanceProblem(
        engines=engines,
        cycles_per_day=fleet.cycles_per_day,
        horizon_days=fleet.horizon_days,
        crew_per_day=fleet.planner.crew_per_day,
        costs=fleet.costs,
        mean_life_cycles=float(training_lifetimes(fleet.spec.subset).mean()),
    )


class ActJob(_FleetJob):
    """Propose the plan's overhauls, approve what the policy approves, execute what is due."""

    stage = "act"

    def __init__(self, site: Site, fleet: Fleet, replay: CmapssReplaySource) -> None:
        super().__init__(site, fleet, ACT_EVERY)
        self.replay = replay
        self._models: dict[str, GradientBoostingRUL] = {}

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Propose once per plan, then approve (auto policy) and execute due overhauls."""
        proposed = self._propose()
        approved = self._approve(now) if self.fleet.approval == "auto" else 0
        executed = self._execute(now)
        predicted = self._predict_restored(now)
        return JobResult(
            _later(watermark, now),
            rows=proposed + approved + len(executed) + predicted,
            message=(
                f"{proposed} proposed, {approved} approved, {len(executed)} executed, "
                f"{predicted} restored engines predicted"
            ),
        )

    def _propose(self) -> int:
        _, plan = self.state_of("optimise")
        if plan is None:
            return 0
        plan_id = plan.decode()
        source = f"plan:{plan_id}:"
        if self.site.work_orders.sources(source):
            return 0
        header = self.site.plans.get(plan_id)
        proposals = [
            Proposal(
                asset=row["asset"],
                action=OVERHAUL_SIGNAL,
                due_at=row["starts_at"],
                expected_cost=row["expected_cost"],
                failure_probability=row["failure_probability"],
                task="engine shop visit",
                source=f"{source}{row['asset']}",
            )
            for row in self.site.plans.assignments(plan_id).to_pylist()
            if row["day"] is not None
        ]
        self.site.work_orders.propose(
            plan_id, proposals, actor=PLANNER_ACTOR, model_version=str(header["model_version"])
        )
        return len(proposals)

    def _orders(self, status: OrderStatus) -> list[dict[str, Any]]:
        assets = set(self.fleet.assets)
        return [
            order
            for order in self.site.work_orders.list(status).to_pylist()
            if order["asset"] in assets and order["action"] in OVERHAUL_ACTIONS
        ]

    def _approve(self, now: datetime) -> int:
        window_end = now + self.fleet.approve_within
        due = [
            order for order in self._orders(OrderStatus.PROPOSED) if order["due_at"] < window_end
        ]
        desk = self.site.actions
        for order in due:
            desk.approve(
                order["order_id"],
                actor=AUTO_ACTOR,
                role="approver",
                comment="due within the approval window",
            )
        return len(due)

    def _execute(self, now: datetime) -> list[str]:
        """Overhaul the engines of approved or dispatched orders due by ``now``; complete them.

        The replay is the pack's maintenance shop: it restores the engine, and the order is
        completed with the planned overhaul's cost and downtime.
        """
        due = [
            order
            for status in (OrderStatus.APPROVED, OrderStatus.DISPATCHED)
            for order in self._orders(status)
            if order["due_at"] <= now
        ]
        costs = self.fleet.costs
        executed = []
        for order in sorted(due, key=lambda o: (o["due_at"], o["asset"])):
            if order["status"] == OrderStatus.APPROVED.value:
                self.site.work_orders.transition(
                    order["order_id"],
                    OrderStatus.DISPATCHED,
                    actor=EXECUTOR_ACTOR,
                    comment="to the replay's shop",
                    at=now,
                )
            detail = self.replay.restore(order["asset"], order["due_at"])
            self.site.actions.complete(
                order["order_id"],
                actor=EXECUTOR_ACTOR,
                actual_cost=costs.planned_overhaul,
                duration_h=costs.planned_downtime_days * 24,
                findings=detail,
            )
            executed.append(order["order_id"])
        for delivery in self.replay.drain_restorations():
            self.site.pipeline.ingest(delivery, self.fleet.name)
        return executed

    def _model(self) -> GradientBoostingRUL | None:
        _, version = self.state_of("analyse")
        if version is None:
            return None
        name = version.decode()
        if name not in self._models:
            model = load_model(self.site, name)
            if model is None:
                return None
            self._models[name] = model
        return self._models[name]

    def _predict_restored(self, now: datetime) -> int:
        """Predict each restored engine not predicted yet, once its first cycle has landed.

        The prediction reads the engine's cycles since its overhaul up to ``now``; its run id is
        ``restored:<order id>`` (:data:`RESTORED`), so it is made once.
        """
        model = self._model()
        if model is None:
            return 0
        landed = [
            order
            for order in self._orders(OrderStatus.COMPLETED)
            if order["due_at"] + self.fleet.spec.cycle_interval <= now
        ]
        if not landed:
            return 0
        done = self.site.store.query(
            "SELECT DISTINCT run_id FROM predictions WHERE starts_with(run_id, ?)",
            [RESTORED],
        ).column("run_id")
        pending = [o for o in landed if f"{RESTORED}{o['order_id']}" not in done.to_pylist()]
        for order in pending:
            history = fleet_history(
                self.site.points,
                self.fleet.series,
                [order["asset"]],
                since={order["asset"]: order["due_at"]},
                until=now + _MICROSECOND,
            )
            predictions = model.predict(history.drop(["ts"]))
            latest = pa.array([history.column("ts")[-1].as_py()] * predictions.num_rows)
            rows = prediction_rows(
                self.fleet, f"{RESTORED}{order['order_id']}", predictions, model, latest
            )
            self.site.predictions.add(rows)
        return len(pending)


class AccountJob(_FleetJob):
    """Play the three policies against the truth; book the ledger and the review's summary."""

    stage = "account"
    upstream = "optimise"

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Book the review once its plan is made."""
        done = self._review(now, watermark, state)
        if done is not None:
            return done
        run_id = review_id(self.fleet)
        _, plan = self.state_of("optimise")
        assert plan is not None
        plan_id = plan.decode()
        predictions = self.site.store.query(
            "SELECT * FROM predictions WHERE run_id = ? ORDER BY asset", [run_id]
        )
        assets = predictions.column("asset").to_pylist()
        truth = load_true_rul(self.fleet.spec.subset)
        known = {
            self.fleet.series.assets[unit]: rul
            for unit, rul in zip(
                truth.column("unit").to_pylist(), truth.column("rul").to_pylist(), strict=True
            )
            if unit in self.fleet.series.assets
        }
        books = GroundTruth(self.site.store)
        books.replace(list(known), self.instant, list(known.values()))
        plan_days = {
            row["asset"]: row["day"]
            for row in self.site.plans.assignments(plan_id).select(["asset", "day"]).to_pylist()
        }
        accounts = account(self.fleet, predictions, plan_days, books.for_assets(assets))
        model_version = str(predictions.column("model_version")[0].as_py())
        written = 0
        if self.site.ledger.entries(run_id).num_rows == 0:
            written = len(
                self.site.ledger.record(
                    accounts.entries,
                    run_id=run_id,
                    plan_id=plan_id,
                    model_version=model_version,
                    assumptions=accounts.assumptions,
                )
            )
        if not _has_run(self.site, run_id):
            self.site.record_run(
                run_id, self._summary(run_id, plan_id, model_version, accounts.figures)
            )
        return JobResult(
            self.instant,
            run_id.encode(),
            rows=written,
            message=f"ledger: {written} entries for {run_id}",
        )

    def _summary(
        self, run_id: str, plan_id: str, model_version: str, figures: dict[str, Any]
    ) -> dict[str, Any]:
        _, collected = self.state_of("collect")
        totals: dict[str, float] = json.loads(collected) if collected else {}
        header: dict[str, Any] = dict(self.site.plans.get(plan_id))
        days = self.site.plans.assignments(plan_id).column("day")
        seconds = totals.get("seconds", 0.0)
        return {
            "run_id": run_id,
            "fleet": self.fleet.name,
            "reviewed_at": self.instant.isoformat(),
            "points_ingested": int(totals.get("points", 0)),
            "points_stored": int(totals.get("stored", 0)),
            "dead_letters": int(totals.get("dead_letters", 0)),
            "ingest_points_per_second": round(totals.get("points", 0) / seconds) if seconds else 0,
            "model_version": model_version,
            "rul_interval_nominal": self._interval(run_id),
            "plan_id": plan_id,
            "plan_status": header["status"],
            "plan_objective": round(float(header["objective"]), 2),
            "plan_gap": round(float(header["gap"]), 6),
            "plan_solve_seconds": round(float(header["solve_seconds"]), 3),
            "plan_overhauls": len(days) - days.null_count,
            "ledger_intact": self.site.ledger.verify().ok,
            **figures,
        }

    def _interval(self, run_id: str) -> float:
        rows = self.site.store.query(
            "SELECT max(interval) AS interval FROM predictions WHERE run_id = ?", [run_id]
        )
        return float(rows.column("interval")[0].as_py())


def _has_run(site: Site, run_id: str) -> bool:
    found = site.store.query("SELECT count(*) AS n FROM runs WHERE run_id = ?", [run_id])
    return bool(found.column("n")[0].as_py())


def fleet_jobs(site: Site, fleet: Fleet) -> list[Job]:
    """The jobs of one fleet, in data-flow order."""
    replay = fleet.replay()
    every = fleet.spec.cycle_interval
    return [
        CollectJob(site, fleet, replay),
        AnalyseJob(site, fleet, every),
        OptimiseJob(site, fleet, every),
        ActJob(site, fleet, replay),
        AccountJob(site, fleet, every),
    ]


def aviation_jobs(site: Site) -> list[Job]:
    """The pack's jobs for a site that lists it: those of every replayed fleet."""
    return [job for fleet in fleets(site) for job in fleet_jobs(site, fleet)]
