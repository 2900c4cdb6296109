"""Production planned around maintenance on one line: a joint CP-SAT model and its baseline.

A :class:`LineProblem` holds machines whose health comes from remaining-useful-life predictions
and orders routed over them. :class:`JointScheduler` places maintenance windows and operations in
one model; :class:`SequentialScheduler` plans maintenance first, then production.
:func:`evaluate_line_plan` scores any plan by its expected cost, :func:`validate_line_plan` checks
it, and :func:`compare_line_plans` sets the two side by side at equal search time;
:func:`sampled_saving` plays both against sampled failure times. The value ledger records
comparisons through :mod:`valueloop.value.line_savings`.
"""

from valueloop.optimize.joint.compare import LineComparison, compare_line_plans, line_assumptions
from valueloop.optimize.joint.costs import LineCosts, evaluate_line_plan, machine_risk
from valueloop.optimize.joint.files import load_line_problem, solve_joint_file
from valueloop.optimize.joint.model import ASSIGNMENTS_SCHEMA, infeasibility_reasons
from valueloop.optimize.joint.problem import (
    LineProblem,
    Machine,
    MachineEconomics,
    Operation,
    Order,
)
from valueloop.optimize.joint.sampled import (
    RealisedCosts,
    SampledSaving,
    realised_costs,
    sample_failure_times,
    sampled_saving,
)
from valueloop.optimize.joint.scenarios import generate_orders, machines_from_predictions
from valueloop.optimize.joint.schedulers import JointScheduler, SequentialScheduler
from valueloop.optimize.joint.validate import validate_line_plan
from valueloop.optimize.joint.windows import failure_optimal_starts

__all__ = [
    "ASSIGNMENTS_SCHEMA",
    "JointScheduler",
    "LineComparison",
    "LineCosts",
    "LineProblem",
    "Machine",
    "MachineEconomics",
    "Operation",
    "Order",
    "RealisedCosts",
    "SampledSaving",
    "SequentialScheduler",
    "compare_line_plans",
    "evaluate_line_plan",
    "failure_optimal_starts",
    "generate_orders",
    "infeasibility_reasons",
    "line_assumptions",
    "load_line_problem",
    "machine_risk",
    "machines_from_predictions",
    "realised_costs",
    "sample_failure_times",
    "sampled_saving",
    "solve_joint_file",
    "validate_line_plan",
]
