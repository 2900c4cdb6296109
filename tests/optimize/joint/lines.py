"""Test lines: machines with the health of FD001 test engines (predicted by a small RUL model),
and hand-checkable machines."""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import load_cmapss
from valueloop.datasets.cmapss_line import fd001_line
from valueloop.optimize.joint import LineProblem, Machine, MachineEconomics


@cache
def fd001_predictions() -> pa.Table:
    """RUL predictions (cycles, 80 % intervals) of the FD001 test engines at their last cycle."""
    model = GradientBoostingRUL(n_estimators=40, folds=2, seed=0, threads=1)
    return model.fit(load_cmapss("FD001", "train")).predict(load_cmapss("FD001", "test"))


def small_line(seed: int = 0) -> LineProblem:
    """Four FD001-derived machines and seven orders over three days of hourly periods."""
    return fd001_line(fd001_predictions(), machines=4, orders=7, seed=seed, horizon=72)


# Hand-checkable economics: a failure costs 1,000 + 5 x 20 = 1,100, a window 100, and each period
# of life forfeited 100 / 10 = 10.
ECONOMICS = MachineEconomics(
    maintenance_duration=4,
    maintenance_cost=100,
    failure_cost=1_000,
    repair_duration=5,
    downtime_cost=20,
    mean_life=10,
)


def machine(name: str, rul: float, lower: float, upper: float) -> Machine:
    """A machine with :data:`ECONOMICS` and the given remaining-life prediction (80 %)."""
    return Machine(name=name, rul=rul, lower=lower, upper=upper, interval=0.8, **dict(ECONOMICS))
