"""Plans as tables of the store: the solver's verdict and each asset's assignment.

Maintenance plans keep one row per asset in ``plan_assignments``; the plans of other optimisers
(schedules, routes, dispatch) keep their assignment rows as one JSON document in ``plan_rows``,
since each optimiser defines its own columns.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import OptimizeError
from valueloop.optimize.base import Plan
from valueloop.store.duckdb import DuckDBStore

MAINTENANCE_KIND = "maintenance"
"""The kind of the fleet's maintenance plans (the loop's); other optimisers' plans keep rows."""

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS plans (
        plan_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL,
        starts_at TIMESTAMPTZ NOT NULL,
        kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        objective DOUBLE NOT NULL,
        best_bound DOUBLE NOT NULL,
        gap DOUBLE NOT NULL,
        solve_seconds DOUBLE NOT NULL,
        solver VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS plan_assignments (
        plan_id VARCHAR NOT NULL,
        asset VARCHAR NOT NULL,
        day INTEGER,
        starts_at TIMESTAMPTZ,
        failure_probability DOUBLE NOT NULL,
        expected_cost DOUBLE NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS plan_rows (
        plan_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        rows_json VARCHAR NOT NULL
    )
    """,
)


class PlanBook:
    """Maintenance and other plans, with their per-asset assignments."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        for ddl in _DDL:
            store.execute(ddl)

    def add(self, plan: Plan, *, kind: str, starts_at: datetime, model_version: str) -> str:
        """Record a plan whose day 0 begins at ``starts_at``; return its id."""
        plan_id = f"PL-{uuid.uuid4().hex[:10]}"
        self._store.execute(
            "INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan_id,
                datetime.now(UTC),
                starts_at,
                kind,
                plan.status,
                plan.objective,
                plan.best_bound,
                plan.gap,
                plan.solve_seconds,
                plan.solver,
                model_version,
            ],
        )
        assignments = plan.assignments
        days = assignments.column("day")
        offsets = pc.multiply(pc.cast(days, pa.int64()), 86_400_000_000)
        starts = pc.add(
            pc.cast(offsets, pa.duration("us")), pa.scalar(starts_at, pa.timestamp("us", tz="UTC"))
        )
        rows = pa.table(
            {
                "plan_id": [plan_id] * assignments.num_rows,
                "asset": assignments.column("asset"),
                "day": days,
                "starts_at": starts,
                "failure_probability": assignments.column("failure_probability"),
                "expected_cost": assignments.column("expected_cost"),
            }
        )
        self._store.append("plan_assignments", rows)
        return plan_id

    def add_solution(
        self, plan: Plan, *, kind: str, source: str, rows: list[dict[str, Any]]
    ) -> str:
        """Record the plan of a non-maintenance optimiser (``kind`` such as ``jsp`` or
        ``cvrp``) solved from ``source``, with its assignment ``rows``; return its id."""
        plan_id = f"PL-{uuid.uuid4().hex[:10]}"
        now = datetime.now(UTC)
        self._store.execute(
            "INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan_id,
                now,
                now,
                kind,
                plan.status,
                plan.objective,
                plan.best_bound,
                plan.gap,
                plan.solve_seconds,
                plan.solver,
                "",
            ],
        )
        self._store.execute(
            "INSERT INTO plan_rows VALUES (?, ?, ?)",
            [plan_id, source, json.dumps(rows, default=str)],
        )
        return plan_id

    def solution_rows(self, plan_id: str) -> tuple[str, list[dict[str, Any]]]:
        """The source and assignment rows of a plan recorded by :meth:`add_solution`."""
        found = self._store.query(
            "SELECT source, rows_json FROM plan_rows WHERE plan_id = ?", [plan_id]
        ).to_pylist()
        if not found:
            raise OptimizeError(f"no schedule, route or dispatch plan {plan_id!r}")
        rows: list[dict[str, Any]] = json.loads(found[0]["rows_json"])
        return str(found[0]["source"]), rows

    def latest_of(self, kinds: tuple[str, ...]) -> str | None:
        """The newest plan of one of ``kinds``, if any."""
        rows = self._store.query(
            "SELECT plan_id FROM plans WHERE list_contains(?::VARCHAR[], kind) "
            "ORDER BY created_at DESC LIMIT 1",
            [list(kinds)],
        )
        return None if rows.num_rows == 0 else str(rows.column("plan_id")[0].as_py())

    def get(self, plan_id: str) -> dict[str, object]:
        """A plan's header row."""
        rows = self._store.query("SELECT * FROM plans WHERE plan_id = ?", [plan_id]).to_pylist()
        if not rows:
            raise OptimizeError(f"no plan {plan_id!r}")
        return dict(rows[0])

    def list(self) -> pa.Table:
        """All plans, newest first."""
        return self._store.query("SELECT * FROM plans ORDER BY created_at DESC")

    def assignments(self, plan_id: str) -> pa.Table:
        """A plan's assignments, by day then asset; assets not served in the horizon last."""
        return self._store.query(
            "SELECT * FROM plan_assignments WHERE plan_id = ? ORDER BY day NULLS LAST, asset",
            [plan_id],
        )

    def latest_id(self) -> str | None:
        """The newest maintenance plan's id, if any."""
        return self.latest_of((MAINTENANCE_KIND,))


def day_start(starts_at: datetime, day: int) -> datetime:
    """The instant a plan day begins."""
    return starts_at + timedelta(days=day)
