"""Lines to plan: seeded orders, and machine health taken from remaining-life predictions.

Each machine of a line takes the health of one predicted unit: its predicted remaining life
(median and interval, in cycles) becomes the machine's, at ``hours_per_cycle`` periods a cycle.
Units are drawn among those whose predicted failure falls in the planning horizon's span, where
planning the maintenance matters. The data sets
(:mod:`valueloop.datasets`) build such lines from public data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import OptimizeError
from valueloop.optimize.joint.problem import (
    Machine,
    MachineEconomics,
    Operation,
    Order,
)


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
    economics: MachineEconomics,
    prefix: str,
) -> list[Machine]:
    """One machine per ``unit`` of ``predictions`` (``unit``, ``rul``, ``lower``, ``upper`` in
    cycles, coverage ``interval``), named ``<prefix>-<unit>``, its life in periods of
    ``1 / hours_per_cycle``."""
    rows = {row["unit"]: row for row in predictions.to_pylist()}
    missing = [unit for unit in units if unit not in rows]
    if missing:
        raise OptimizeError(f"no remaining-life prediction for unit(s) {missing}")
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
    """``count`` units drawn (seeded) among those predicted to fail within 0.25 to 1.25
    horizons, sorted."""
    hours = pc.multiply(predictions["rul"], hours_per_cycle)
    window = pc.and_(pc.greater_equal(hours, 0.25 * horizon), pc.less_equal(hours, 1.25 * horizon))
    candidates = predictions.filter(window)["unit"].to_numpy()
    if candidates.size < count:
        raise OptimizeError(
            f"only {candidates.size} units are predicted to fail within 0.25 to 1.25 horizons "
            f"of {horizon} periods; {count} are needed: change the horizon or hours_per_cycle"
        )
    chosen = np.random.default_rng(seed).choice(candidates, size=count, replace=False)
    return sorted(int(unit) for unit in chosen)
