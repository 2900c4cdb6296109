"""The value of planning production around maintenance, recorded in the value ledger.

Each policy's evaluated figures go in as ``line_policy`` entries (subject ``sequential`` or
``joint``) and the joint plan's saving over the sequential one as ``savings`` entries (subject
``joint_vs_sequential``, in money and percent), with the line's assumptions.
"""

from __future__ import annotations

from valueloop.optimize.joint.compare import LineComparison, line_assumptions
from valueloop.optimize.joint.problem import LineProblem
from valueloop.value.ledger import Ledger, LedgerEntry

_METRICS = (
    ("total", "cost", None),
    ("tardiness_cost", "tardiness_cost", None),
    ("tardiness", "tardiness_periods", "periods"),
    ("expected_failures", "expected_failures", "count"),
    ("windows", "maintenance_windows", "count"),
)


def line_ledger_entries(comparison: LineComparison) -> list[LedgerEntry]:
    """Ledger entries of a comparison: each policy's cost, tardiness, expected failures and
    windows, and the joint plan's saving over the sequential one, in money and percent."""
    money = comparison.currency
    entries = [
        LedgerEntry("line_policy", policy, metric, float(getattr(costs, field)), unit or money)
        for policy, costs in comparison.costs.items()
        for field, metric, unit in _METRICS
    ]
    return [
        *entries,
        LedgerEntry("savings", "joint_vs_sequential", "money", comparison.saving, money),
        LedgerEntry("savings", "joint_vs_sequential", "percent", comparison.saving_percent, "%"),
    ]


def record_line_saving(
    ledger: Ledger,
    problem: LineProblem,
    comparison: LineComparison,
    *,
    run_id: str,
    plan_id: str,
    model_version: str,
) -> list[int]:
    """Append a line comparison to ``ledger``; return the entries' sequence numbers.

    ``model_version`` names the RUL model whose predictions gave the machines' health.
    """
    return ledger.record(
        line_ledger_entries(comparison),
        run_id=run_id,
        plan_id=plan_id,
        model_version=model_version,
        assumptions=line_assumptions(problem),
    )
