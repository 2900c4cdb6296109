"""Lines to plan: seeded orders, and machine health taken from C-MAPSS RUL predictions.

Each machine of a line takes the health of one C-MAPSS test engine: the engine's predicted
remaining life (median and interval, in cycles, at its last recorded cycle) becomes the machine's,
at ``hours_per_cycle`` periods a cycle. Engines are drawn among those whose predicted failure falls
in the planning horizon's span, where planning the maintenance matters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import OptimizeError
from valueloop.optimize.joint.problem import (
    LineProblem,
    Machine,
    MachineEconomics,
    Operation,
    Order,
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


def generate_orders(
    machines: Sequence[str],
    *,
    count: int,
    horizon: int,
    seed: int,
    longest_route: int = 4,
    durations: tuple[int, int] = (2, 8),
    slack: tuple[float, float] = (1.2, 2.5),
) -> list[Order]:
    """``count`` seeded orders over ``machines``, each released in the first half of the horizon.

    A route visits 2 to ``longest_route`` distinct machines in random order, each operation
    lasting a whole number of periods within ``durations``; the due period is the release plus the
    route's length times a factor drawn from ``slack``; the weight is 50 to 300 money a period.
    """
    if count < 1 or len(machines) < 2:
        raise OptimizeError("generate_orders needs at least 1 order and 2 machines")
    rng = np.random.default_rng(seed)
    orders = []
    for number in range(count):
        visits = int(rng.integers(2, min(longest_route, len(machines)) + 1))
        route = rng.permutation(len(machines))[:visits]
        lengths = rng.integers(durations[0], durations[1] + 1, size=visits)
        release = int(rng.integers(0, horizon // 2))
        due = release + math.ceil(float(lengths.sum()) * rng.uniform(*slack))
        orders.append(
            Order(
                name=f"O{number + 1:03d}",
                release=release,
                due=due,
                weight=float(10 * rng.integers(5, 31)),
                operations=[
                    Operation(machine=machines[m], duration=int(d))
                    for m, d in zip(route, lengths, strict=True)
                ],
            )
        )
    return orders


def machines_from_predictions(
    predictions: pa.Table,
    units: Sequence[int],
    *,
    hours_per_cycle: float,
    interval: float,
    economics: MachineEconomics = LINE_ECONOMICS,
    prefix: str = "FD001",
) -> list[Machine]:
    """One machine per engine ``unit`` of ``predictions`` (``unit``, ``rul``, ``lower``,
    ``upper`` in cycles, coverage ``interval``), its life in periods of ``1 / hours_per_cycle``."""
    rows = {row["unit"]: row for row in predictions.to_pylist()}
    missing = [unit for unit in units if unit not in rows]
    if missing:
        raise OptimizeError(f"no RUL prediction for engine(s) {missing}")
    return [
        Machine(
            name=f"{prefix}-{unit:03d}",
            rul=rows[unit]["rul"] * hours_per_cycle,
            lower=rows[unit]["lower"] * hours_per_cycle,
            upper=rows[unit]["upper"] * hours_per_cycle,
            interval=interval,
            **economics.model_dump(),
        )
        for unit in units
    ]


def at_risk_units(
    predictions: pa.Table, *, horizon: int, hours_per_cycle: float, count: int, seed: int
) -> list[int]:
    """``count`` engines drawn (seeded) among those predicted to fail within 0.25 to 1.25
    horizons, sorted by unit."""
    hours = pc.multiply(predictions["rul"], hours_per_cycle)
    window = pc.and_(pc.greater_equal(hours, 0.25 * horizon), pc.less_equal(hours, 1.25 * horizon))
    candidates = predictions.filter(window)["unit"].to_numpy()
    if candidates.size < count:
        raise OptimizeError(
            f"only {candidates.size} engines are predicted to fail within 0.25 to 1.25 horizons "
            f"of {horizon} periods; {count} are needed: change the horizon or hours_per_cycle"
        )
    chosen = np.random.default_rng(seed).choice(candidates, size=count, replace=False)
    return sorted(int(unit) for unit in chosen)


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
        predictions, units, hours_per_cycle=hours_per_cycle, interval=interval, economics=economics
    )
    return LineProblem(
        name=f"fd001-m{machines}-o{orders}-s{seed}",
        horizon=horizon,
        machines=line,
        orders=generate_orders(
            [machine.name for machine in line], count=orders, horizon=horizon, seed=seed
        ),
    )
