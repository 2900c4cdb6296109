"""Production lines whose machines have the health of C-MAPSS FD001 test engines.

The benchmark scenarios of the joint production-and-maintenance planner
(:mod:`valueloop.optimize.joint`): each machine takes the predicted remaining life of one FD001
test engine at its last recorded cycle, and the line gets seeded orders.
"""

from __future__ import annotations

import pyarrow as pa

from valueloop.optimize.joint.problem import LineProblem, MachineEconomics
from valueloop.optimize.joint.scenarios import (
    at_risk_units,
    generate_orders,
    machines_from_predictions,
)

LINE_ECONOMICS = MachineEconomics(
    maintenance_duration=8,
    maintenance_cost=8_000,
    failure_cost=40_000,
    repair_duration=24,
    downtime_cost=1_000,
    mean_life=400,
)
"""Economics of a machine of a generated line (money in USD, periods in hours): an 8-hour service
for 8,000 against a failure costing 40,000 and a day's stop at 1,000 an hour; C-MAPSS FD001
engines last about 206 cycles, 400 hours at 2 hours a cycle."""


def fd001_line(
    predictions: pa.Table,
    *,
    machines: int = 5,
    orders: int = 30,
    seed: int = 0,
    horizon: int = 168,
    hours_per_cycle: float = 2.0,
    interval: float = 0.8,
    economics: MachineEconomics = LINE_ECONOMICS,
) -> LineProblem:
    """A line of ``machines`` machines with the health of FD001 test engines and ``orders``
    seeded orders, planned over ``horizon`` periods (hours; one week by default).

    ``predictions`` are the RUL predictions of the FD001 test engines at their last cycle, with
    intervals of coverage ``interval`` (e.g. from
    :class:`~valueloop.analytics.rul.GradientBoostingRUL`).
    """
    units = at_risk_units(
        predictions, horizon=horizon, hours_per_cycle=hours_per_cycle, count=machines, seed=seed
    )
    line = machines_from_predictions(
        predictions,
        units,
        hours_per_cycle=hours_per_cycle,
        interval=interval,
        economics=economics,
        prefix="FD001",
    )
    return LineProblem(
        name=f"fd001-m{machines}-o{orders}-s{seed}",
        horizon=horizon,
        machines=line,
        orders=generate_orders(
            [machine.name for machine in line], count=orders, horizon=horizon, seed=seed
        ),
    )
