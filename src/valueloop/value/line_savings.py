"""The value of planning production around maintenance, recorded in the value ledger.

Each policy's evaluated figures go in as ``line_policy`` entries (subject ``sequential`` or
``joint``) and the joint plan's saving over the sequential one as ``savings`` entries (subject
``joint_vs_sequential``, in money and percent), with the line's assumptions. These are expected
costs, by the model the joint plan minimises, with both plans given the same search time; where
the plans were also played against sampled failure times, that saving goes in beside them
(``sampled_money`` and ``sampled_percent`` with the ends of their 95 % intervals).
"""

from __future__ import annotations

from valueloop.optimize.joint.compare import LineComparison, line_assumptions
from valueloop.optimize.joint.problem import LineProblem
from valueloop.optimize.joint.sampled import SampledSaving
from valueloop.value.ledger import Ledger, LedgerEntry

_METRICS = (
    ("total", "cost", None),
    ("tardiness_cost", "tardiness_cost", None),
    ("tardiness", "tardiness_periods", "periods"),
    ("expected_failures", "expected_failures", "count"),
    ("windows", "maintenance_windows", "count"),
)


def line_ledger_entries(
    comparison: LineComparison, sampled: SampledSaving | None = None
) -> list[LedgerEntry]:
    """Ledger entries of a comparison: each policy's cost, tardiness, expected failures and
    windows, the joint plan's expected saving over the sequential one in money and percent, and
    its saving on sampled failure times if ``sampled`` is given."""
    money = comparison.currency
    entries = [
        LedgerEntry("line_policy", policy, metric, float(getattr(costs, field)), unit or money)
        for policy, costs in comparison.costs.items()
        for field, metric, unit in _METRICS
    ]
    saving = "joint_vs_sequential"
    entries += [
        LedgerEntry("savings", saving, "money", comparison.saving, money),
        LedgerEntry("savings", saving, "percent", comparison.saving_percent, "%"),
    ]
    if sampled is not None:
        for metric, value, (low, high), unit in (
            ("sampled_money", sampled.saving, sampled.saving_interval, money),
            ("sampled_percent", sampled.saving_percent, sampled.saving_percent_interval, "%"),
        ):
            entries += [
                LedgerEntry("savings", saving, metric, value, unit),
                LedgerEntry("savings", saving, f"{metric}_low", low, unit),
                LedgerEntry("savings", saving, f"{metric}_high", high, unit),
            ]
    return entries


def record_line_saving(
    ledger: Ledger,
    problem: LineProblem,
    comparison: LineComparison,
    *,
    run_id: str,
    plan_id: str,
    model_version: str,
    sampled: SampledSaving | None = None,
) -> list[int]:
    """Append a line comparison (and its sampled check, if any) to ``ledger``; return the
    entries' sequence numbers.

    ``model_version`` names the RUL model whose predictions gave the machines' health.
    """
    assumptions = line_assumptions(problem)
    if sampled is not None:
        assumptions["sampled"] = {"samples": sampled.samples, "seed": sampled.seed}
    return ledger.record(
        line_ledger_entries(comparison, sampled),
        run_id=run_id,
        plan_id=plan_id,
        model_version=model_version,
        assumptions=assumptions,
    )
