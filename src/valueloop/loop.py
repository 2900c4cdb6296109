"""The closed loop, stage by stage: collect, analyse, optimise, act, account.

:class:`Loop` calls each stage's module in order on an opened :class:`~valueloop.site.Site` and
times it; it owns no logic of its own. Every stage reads what the previous one wrote to the store
and writes its own results back as tables.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.act.execute import execute_due
from valueloop.act.workorders import Proposal
from valueloop.analytics.evaluate import interval_coverage, phm08_score, rmse
from valueloop.analytics.history import fleet_history
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.connectors.replay import OVERHAUL_SIGNAL, CmapssReplaySource
from valueloop.datasets import data_dir
from valueloop.datasets.cmapss import load_cmapss, load_true_rul
from valueloop.model.assets import asset_name, fleet_series
from valueloop.optimize.base import Plan
from valueloop.optimize.maintenance import (
    EngineOutlook,
    MaintenanceCosts,
    MaintenancePlanner,
    MaintenanceProblem,
)
from valueloop.optimize.records import MAINTENANCE_KIND
from valueloop.site import Site
from valueloop.value.ground_truth import GroundTruth
from valueloop.value.ledger import LedgerEntry
from valueloop.value.policies import (
    PolicyOutcome,
    compare_policies,
    fixed_interval_schedule,
    run_to_failure_schedule,
    simulate,
    tune_fixed_interval,
)

STAGES = ("collect", "analyse", "optimise", "act", "account")

ProgressCallback = Callable[[str, str], None]


@dataclass
class LoopState:
    """What the stages of one run hand to each other."""

    run_id: str
    assets: list[str] = field(default_factory=list)
    history: pa.Table | None = None
    predictions: pa.Table | None = None
    model: GradientBoostingRUL | None = None
    plan: Plan | None = None
    plan_id: str = ""
    outcomes: dict[str, PolicyOutcome] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _costs(site: Site) -> MaintenanceCosts:
    prices = site.config.prices
    return MaintenanceCosts(
        planned_overhaul=prices.planned_overhaul,
        unplanned_failure=prices.unplanned_failure,
        downtime_per_day=prices.downtime_per_day,
        planned_downtime_days=prices.planned_downtime_days,
        unplanned_downtime_days=prices.unplanned_downtime_days,
    )


def model_path(site: Site, version: str) -> Path:
    """Where a site keeps the saved model of a version."""
    folder = site.data_dir / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{version}.json"


def training_lifetimes(subset: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Run-to-failure lifetime (cycles) of every training engine of a C-MAPSS subset."""
    train = load_cmapss(subset, "train")
    grouped = train.group_by("unit").aggregate([("cycle", "max")])
    return np.asarray(grouped.column("cycle_max").to_numpy(), dtype=np.float64)


class Loop:
    """One pass of the closed loop on a site.

    ``approve_as`` names the planner on whose behalf the work orders due within the policy's
    approval window are approved in this run (None: they stay proposed for a person to decide).
    """

    def __init__(
        self,
        site: Site,
        *,
        approve_as: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.site = site
        self.approve_as = approve_as
        self.progress = progress or (lambda stage, message: None)
        self.replay = self._replay_source()

    def _replay_source(self) -> CmapssReplaySource:
        config = self.site.config
        spec = config.replay
        assets = CmapssReplaySource.fleet_assets(config, data_dir() / spec.file)
        catalogue = self.site.registry.ensure(fleet_series(config, assets))
        ids: dict[str, dict[str, int]] = {}
        for row in catalogue.select(["asset", "signal", "series_id"]).to_pylist():
            ids.setdefault(row["asset"], {})[row["signal"]] = row["series_id"]
        return CmapssReplaySource(spec, config, ids)

    @contextmanager
    def _stage(self, state: LoopState, name: str) -> Iterator[None]:
        self.progress(name, "started")
        started = time.perf_counter()
        yield
        state.stage_seconds[name] = round(time.perf_counter() - started, 3)
        self.progress(name, f"done in {state.stage_seconds[name]:.1f} s")

    def run(self) -> dict[str, Any]:
        """Run every stage once; return the run's summary (also kept in the store)."""
        state = LoopState(run_id=f"RUN-{uuid.uuid4().hex[:10]}")
        with self._stage(state, "collect"):
            self.collect(state)
        with self._stage(state, "analyse"):
            self.analyse(state)
        with self._stage(state, "optimise"):
            self.optimise(state)
        with self._stage(state, "act"):
            self.act(state)
        with self._stage(state, "account"):
            self.account(state)
        state.summary["stage_seconds"] = state.stage_seconds
        self.site.record_run(state.run_id, state.summary)
        return state.summary

    # Stages ------------------------------------------------------------------------------

    def collect(self, state: LoopState) -> None:
        """Replay the fleet's history through the ingest pipeline into the store."""
        report = asyncio.run(
            self.site.pipeline.run(
                self.replay,
                lambda r: self.progress("collect", f"{r.points_received:,} points"),
            )
        )
        config = self.site.config
        truth = load_true_rul(config.fleet.subset)
        GroundTruth(self.site.store).replace(
            [asset_name(config.fleet.asset_prefix, u) for u in truth.column("unit").to_pylist()],
            config.fleet.observed_until,
            truth.column("rul").to_pylist(),
        )
        state.assets = self.replay.asset_names()
        state.summary.update(
            points_ingested=report.points_received,
            points_stored=report.points_inserted + report.points_replaced,
            dead_letters=self.site.pipeline.dead_letters.count(),
            ingest_points_per_second=round(report.points_per_second),
        )

    def analyse(self, state: LoopState) -> None:
        """Fit the remaining-life model on training history; predict the fleet from the store."""
        config = self.site.config
        signals = [signal.name for signal in config.signals]
        model = GradientBoostingRUL().fit(load_cmapss(config.fleet.subset, "train"))
        model.save(model_path(self.site, model.version))
        history = fleet_history(self.site.points, self.site.registry, state.assets, signals)
        predictions = model.predict(history.drop(["ts"]))
        truth = GroundTruth(self.site.store).for_assets(state.assets)
        rul = predictions.column("rul").to_numpy()
        true = np.asarray(truth, dtype=np.float64)
        self.site.predictions.add(self._prediction_rows(state.run_id, predictions, model))
        state.model, state.history, state.predictions = model, history, predictions
        state.summary.update(
            model_version=model.version,
            rul_rmse=round(rmse(rul, true), 3),
            rul_phm_score=round(phm08_score(rul, true), 1),
            rul_interval_coverage=round(
                interval_coverage(
                    predictions.column("lower").to_numpy(),
                    predictions.column("upper").to_numpy(),
                    true,
                ),
                3,
            ),
            rul_interval_nominal=model.interval,
            engines=len(state.assets),
        )

    def _prediction_rows(
        self,
        run_id: str,
        predictions: pa.Table,
        model: GradientBoostingRUL,
        as_of: datetime | None = None,
    ) -> pa.Table:
        prefix = self.site.config.fleet.asset_prefix
        n = predictions.num_rows
        return pa.table(
            {
                "run_id": [run_id] * n,
                "as_of": pa.array(
                    [as_of or self.site.config.fleet.observed_until] * n,
                    pa.timestamp("us", tz="UTC"),
                ),
                "asset": [asset_name(prefix, u) for u in predictions.column("unit").to_pylist()],
                "cycle": predictions.column("cycle"),
                "rul": predictions.column("rul"),
                "lower": predictions.column("lower"),
                "upper": predictions.column("upper"),
                "interval": [model.interval] * n,
                "model_version": [model.version] * n,
            }
        )

    def _problem(self, state: LoopState) -> MaintenanceProblem:
        assert state.predictions is not None and state.model is not None
        config = self.site.config
        prefix = config.fleet.asset_prefix
        engines = [
            EngineOutlook(
                asset=asset_name(prefix, row["unit"]),
                rul=row["rul"],
                lower=min(row["lower"], row["rul"]),
                upper=max(row["upper"], row["rul"], 1e-3),
                interval=state.model.interval,
            )
            for row in state.predictions.select(["unit", "rul", "lower", "upper"]).to_pylist()
        ]
        return MaintenanceProblem(
            engines=engines,
            cycles_per_day=config.cycles_per_day,
            horizon_days=config.maintenance.horizon_days,
            crew_per_day=config.maintenance.crew_per_day,
            costs=_costs(self.site),
            mean_life_cycles=float(training_lifetimes(config.fleet.subset).mean()),
        )

    def optimise(self, state: LoopState) -> None:
        """Plan the overhauls that minimise expected cost, with CP-SAT."""
        assert state.model is not None
        config = self.site.config
        planner = MaintenancePlanner(time_limit=config.maintenance.time_limit_s)
        plan = planner.solve(self._problem(state))
        state.plan = plan
        state.plan_id = self.site.plans.add(
            plan,
            kind=MAINTENANCE_KIND,
            starts_at=config.fleet.observed_until,
            model_version=state.model.version,
        )
        state.summary.update(
            plan_id=state.plan_id,
            plan_status=plan.status,
            plan_objective=round(plan.objective, 2),
            plan_gap=round(plan.gap, 6),
            plan_solve_seconds=round(plan.solve_seconds, 3),
            plan_overhauls=int(pc.sum(pc.is_valid(plan.assignments.column("day"))).as_py()),
        )

    def act(self, state: LoopState) -> None:
        """Propose the plan's overhauls as work orders; approve and execute those due if allowed."""
        assert state.model is not None
        config = self.site.config
        rows = self.site.plans.assignments(state.plan_id).to_pylist()
        proposals = [
            Proposal(
                asset=row["asset"],
                action=OVERHAUL_SIGNAL,
                due_at=row["starts_at"],
                expected_cost=row["expected_cost"],
                failure_probability=row["failure_probability"],
            )
            for row in rows
            if row["day"] is not None
        ]
        orders = self.site.work_orders.propose(
            state.plan_id, proposals, actor="planner:cp-sat", model_version=state.model.version
        )
        window_end = self.window_end()
        approver = "policy:auto" if config.policy.approval == "auto" else self.approve_as
        if approver:
            for order_id, proposal in zip(orders, proposals, strict=True):
                if proposal.due_at < window_end:
                    self.site.work_orders.approve(
                        order_id, actor=approver, comment="due within the approval window"
                    )
        restored = self.execute_approved(state.model, run_id=state.run_id)
        counts = pc.value_counts(self.site.work_orders.list().column("status")).to_pylist()
        state.summary.update(
            work_orders={row["values"]: row["counts"] for row in counts},
            work_orders_executed=len(restored),
            restored_engines_rul=restored,
        )

    def window_end(self) -> datetime:
        """End of the approval window: orders due before it may be approved and executed now."""
        config = self.site.config
        return config.fleet.observed_until + timedelta(days=config.policy.approve_within_days)

    def execute_approved(self, model: GradientBoostingRUL, *, run_id: str) -> dict[str, float]:
        """Execute approved orders due in the window; re-predict each restored engine.

        Returns the new predicted remaining life (cycles) of each restored engine.
        """
        executed = asyncio.run(
            execute_due(
                self.site.work_orders, self.replay, until=self.window_end(), actor="executor:replay"
            )
        )
        for delivery in self.replay.drain_restorations():
            self.site.pipeline.ingest(delivery, self.replay.name)
        if not executed:
            return {}
        signals = [signal.name for signal in self.site.config.signals]
        since = {order["asset"]: order["due_at"] for order in executed}
        history = fleet_history(
            self.site.points, self.site.registry, list(since), signals, since=since
        )
        predictions = model.predict(history.drop(["ts"]))
        latest = pc.max(history.column("ts")).as_py()
        self.site.predictions.add(self._prediction_rows(run_id, predictions, model, as_of=latest))
        return {
            asset_name(self.site.config.fleet.asset_prefix, row["unit"]): round(row["rul"], 1)
            for row in predictions.select(["unit", "rul"]).to_pylist()
        }

    def account(self, state: LoopState) -> None:
        """Play the three policies against the true failure times and book them in the ledger."""
        assert state.plan is not None and state.history is not None
        config = self.site.config
        costs = _costs(self.site)
        lifetimes = training_lifetimes(config.fleet.subset)
        mean_life = float(lifetimes.mean())
        true_rul = GroundTruth(self.site.store).for_assets(state.assets)
        plan_days = {
            row["asset"]: row["day"]
            for row in state.plan.assignments.select(["asset", "day"]).to_pylist()
        }
        ages = state.history.group_by("unit").aggregate([("cycle", "max")]).sort_by("unit")
        age_by_asset = {
            asset_name(config.fleet.asset_prefix, row["unit"]): row["cycle_max"]
            for row in ages.to_pylist()
        }
        interval = tune_fixed_interval(lifetimes, costs)
        common = dict(
            cycles_per_day=config.cycles_per_day,
            horizon_days=config.maintenance.horizon_days,
            crew_per_day=config.maintenance.crew_per_day,
            costs=costs,
            mean_life_cycles=mean_life,
        )
        schedules = {
            "run_to_failure": run_to_failure_schedule(len(state.assets)),
            "fixed_interval": fixed_interval_schedule(
                [age_by_asset[a] for a in state.assets],
                interval,
                config.cycles_per_day,
                config.maintenance.horizon_days,
            ),
            "predictive": [plan_days.get(asset) for asset in state.assets],
        }
        outcomes = {
            name: simulate(schedule, true_rul, policy=name, **common)  # type: ignore[arg-type]
            for name, schedule in schedules.items()
        }
        savings = compare_policies(outcomes, against="predictive")
        currency = config.prices.currency
        entries = [
            LedgerEntry("policy", name, metric, float(getattr(outcome, metric)), unit)
            for name, outcome in outcomes.items()
            for metric, unit in (
                ("cost", currency),
                ("failures", "count"),
                ("overhauls", "count"),
                ("downtime_days", "d"),
                ("availability", "ratio"),
                ("forfeited_cycles", "cycles"),
            )
        ] + [
            LedgerEntry("savings", f"predictive_vs_{name}", metric, value, unit)
            for name, saving in savings.items()
            for metric, value, unit in (
                ("money", saving.money, currency),
                ("percent", saving.percent, "%"),
            )
        ]
        assumptions = {
            "prices": config.prices.model_dump(),
            "crew_per_day": config.maintenance.crew_per_day,
            "horizon_days": config.maintenance.horizon_days,
            "cycles_per_day": config.cycles_per_day,
            "mean_life_cycles": mean_life,
            "forfeited_cycle_cost": costs.forfeited_cycle_cost(mean_life),
            "fixed_interval_cycles": interval,
            "fleet": f"C-MAPSS {config.fleet.subset} test engines, {len(state.assets)}",
            "ground_truth": f"RUL_{config.fleet.subset} (true remaining life at the last cycle)",
            "failure_repair": "a failed engine is repaired as new and runs to the horizon's end",
        }
        assert state.model is not None
        self.site.ledger.record(
            entries,
            run_id=state.run_id,
            plan_id=state.plan_id,
            model_version=state.model.version,
            assumptions=assumptions,
        )
        state.outcomes = outcomes
        state.summary.update(
            currency=currency,
            fixed_interval_cycles=interval,
            policies={
                name: {
                    "cost": round(o.cost, 2),
                    "failures": o.failures,
                    "availability": round(o.availability, 5),
                    "overhauls": o.overhauls,
                    "downtime_days": o.downtime_days,
                    "forfeited_cycles": o.forfeited_cycles,
                }
                for name, o in outcomes.items()
            },
            savings={
                name: {"money": round(s.money, 2), "percent": round(s.percent, 3)}
                for name, s in savings.items()
            },
            ledger_intact=not self.site.ledger.verify(),
            run_id=state.run_id,
        )
