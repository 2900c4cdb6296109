"""Test fleets for the planner and the policies: FD001 economics and noisy predictions."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from valueloop.optimize.maintenance import EngineOutlook, MaintenanceCosts

FLEET_COSTS = MaintenanceCosts(
    planned_overhaul=2_000_000,
    unplanned_failure=5_000_000,
    downtime_per_day=25_000,
    planned_downtime_days=2,
    unplanned_downtime_days=10,
)
NOISE_CYCLES = 15.0  # spread of the prediction error, about that of a good FD001 RUL model


def noisy_outlooks(true_rul: np.ndarray, seed: int = 0) -> list[EngineOutlook]:
    """Predictions = true RUL + normal noise, with an honest 80 % interval for that noise."""
    predicted = np.maximum(
        true_rul + np.random.default_rng(seed).normal(0, NOISE_CYCLES, true_rul.size), 1.0
    )
    half_width = NormalDist().inv_cdf(0.9) * NOISE_CYCLES
    return [
        EngineOutlook(
            asset=f"FD001-{unit:03d}",
            rul=float(rul),
            lower=float(rul - half_width),
            upper=float(rul + half_width),
            interval=0.8,
        )
        for unit, rul in enumerate(predicted, start=1)
    ]
