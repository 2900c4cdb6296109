"""Maintenance policies played against the true remaining life of a fleet, and what they cost.

:func:`simulate` carries out a policy's schedule of overhaul days on engines whose true remaining
life is known (e.g. the C-MAPSS test engines with ``RUL_FD001``) and books every cost the policy
causes, with the same conventions as :mod:`valueloop.optimize.maintenance`:

- an engine flying ``cycles_per_day`` cycles a day with ``true_rul`` cycles left fails on day
  ``floor(true_rul / cycles_per_day)`` unless overhauled on an earlier day; a failure the same day
  as a booked overhaul comes first;
- a failure costs ``unplanned_failure`` and ``unplanned_downtime_days`` of downtime; the engine is
  repaired as new and assumed to run to the end of the horizon;
- an overhaul on day ``d`` before the failure day costs ``planned_overhaul``,
  ``planned_downtime_days`` of downtime and the forfeited life ``true_rul - d * cycles_per_day``
  cycles at ``planned_overhaul / mean_life_cycles`` a cycle; the engine is then as new and assumed
  to run to the end of the horizon;
- at most ``crew_per_day`` overhauls are done a day: requests beyond that wait for the next day
  with spare capacity, and may fail while waiting. The crew serves the earliest request first and,
  among requests of the same day, the engine that has flown the most cycles since its last
  overhaul (the one most past its interval). Failure repairs do not use the overhaul crew.

Downtime is costed in full even where it runs past the horizon; availability counts only the
engine-days inside the horizon.

Policies: run to failure (:func:`run_to_failure_schedule`), a fixed overhaul age tuned on training
lifetimes (:func:`tune_fixed_interval`, :func:`fixed_interval_schedule`), and the predictive plan,
whose schedule is the ``day`` column of a maintenance plan's assignments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from valueloop.errors import ConfigError, DataError
from valueloop.optimize.maintenance import MaintenanceCosts


@dataclass(frozen=True)
class PolicyOutcome:
    """What a policy cost a fleet over the horizon.

    Attributes:
        policy: name of the policy.
        cost: total cost (money), the sum of the four parts below.
        failures: in-service failures.
        failures_waiting: those of engines whose overhaul was requested on an earlier day and
            was still waiting for the crew.
        overhauls: planned overhauls carried out.
        downtime_days: engine-days out of service caused by the failures and overhauls.
        availability: share of the fleet's engine-days within the horizon spent in service, 0..1.
        forfeited_cycles: cycles of life thrown away by overhauls before failure.
        overhaul_cost: planned overhauls (money).
        failure_cost: failures, repair included (money).
        downtime_cost: downtime of failures and overhauls (money).
        forfeited_life_cost: forfeited cycles at ``planned_overhaul / mean_life_cycles`` (money).
    """

    policy: str
    cost: float
    failures: int
    failures_waiting: int
    overhauls: int
    downtime_days: float
    availability: float
    forfeited_cycles: float
    overhaul_cost: float
    failure_cost: float
    downtime_cost: float
    forfeited_life_cost: float


@dataclass(frozen=True)
class Savings:
    """What one policy saves against another.

    Attributes:
        money: the other policy's cost minus this one's (money; negative if this one costs more).
        percent: ``money`` as a percentage of the other policy's cost (NaN if that cost is 0).
    """

    money: float
    percent: float


def simulate(
    service_day: Sequence[int | None],
    true_rul_cycles: ArrayLike,
    *,
    cycles_per_day: float,
    horizon_days: int,
    crew_per_day: int,
    costs: MaintenanceCosts,
    mean_life_cycles: float,
    policy: str,
    ages_cycles: ArrayLike | None = None,
) -> PolicyOutcome:
    """Carry out a schedule on engines of known remaining life; see the module documentation.

    Args:
        service_day: requested overhaul day of each engine (0 is today), or None for none;
            requests on or after ``horizon_days`` are not carried out within the horizon.
        true_rul_cycles: true remaining life of each engine, in cycles from today.
        cycles_per_day: cycles each engine flies a day.
        horizon_days: days simulated.
        crew_per_day: overhauls the crew can do in one day.
        costs: the economics.
        mean_life_cycles: mean run-to-failure life, in cycles, that prices forfeited life.
        policy: name given to the outcome.
        ages_cycles: cycles each engine has flown since its last overhaul, today; among requests
            of the same day the crew serves the engine with the most first. None: all alike,
            served in engine order.
    """
    true_rul = np.asarray(true_rul_cycles, dtype=np.float64)
    n_engines = true_rul.size
    if true_rul.ndim != 1 or len(service_day) != n_engines:
        raise DataError(
            f"expected one service day per engine: {len(service_day)} days for {n_engines} engines"
        )
    ages = np.zeros(n_engines) if ages_cycles is None else np.asarray(ages_cycles, np.float64)
    if ages.shape != true_rul.shape:
        raise DataError(f"expected one age per engine: {ages.size} ages for {n_engines} engines")
    if np.any(~np.isfinite(true_rul) | (true_rul < 0)):
        raise DataError("true remaining lives must be finite and non-negative cycles")
    if any(day is not None and day < 0 for day in service_day):
        raise DataError("service days must be non-negative (0 is today) or None")
    if not (cycles_per_day > 0 and horizon_days >= 1 and crew_per_day >= 1):
        raise ConfigError(
            "cycles_per_day must be > 0 and horizon_days and crew_per_day at least 1, got "
            f"{cycles_per_day}, {horizon_days}, {crew_per_day}"
        )
    if not mean_life_cycles > 0:
        raise ConfigError(f"mean_life_cycles must be > 0, not {mean_life_cycles}")

    never = np.iinfo(np.int64).max
    requested = np.array([never if day is None else day for day in service_day], dtype=np.int64)
    failure_day = np.floor(true_rul / cycles_per_day).astype(np.int64)
    failed_on = np.full(n_engines, -1, dtype=np.int64)
    serviced_on = np.full(n_engines, -1, dtype=np.int64)
    for day in range(horizon_days):
        open_ = (failed_on < 0) & (serviced_on < 0)
        failed_on[open_ & (failure_day == day)] = day
        waiting = np.flatnonzero(open_ & (failure_day != day) & (requested <= day))
        queue = np.lexsort((waiting, -ages[waiting], requested[waiting]))
        serviced_on[waiting[queue][:crew_per_day]] = day

    overhauled, failed = serviced_on >= 0, failed_on >= 0
    forfeited = float(np.sum(true_rul[overhauled] - serviced_on[overhauled] * cycles_per_day))
    downtime = (
        overhauled.sum() * costs.planned_downtime_days
        + failed.sum() * costs.unplanned_downtime_days
    )
    in_horizon = np.minimum(costs.planned_downtime_days, horizon_days - serviced_on[overhauled])
    in_horizon_failed = np.minimum(costs.unplanned_downtime_days, horizon_days - failed_on[failed])
    lost_days = float(in_horizon.sum() + in_horizon_failed.sum())
    parts = {
        "overhaul_cost": float(overhauled.sum() * costs.planned_overhaul),
        "failure_cost": float(failed.sum() * costs.unplanned_failure),
        "downtime_cost": float(downtime * costs.downtime_per_day),
        "forfeited_life_cost": forfeited * costs.forfeited_cycle_cost(mean_life_cycles),
    }
    return PolicyOutcome(
        policy=policy,
        cost=sum(parts.values()),
        failures=int(failed.sum()),
        failures_waiting=int(np.sum(failed & (requested < failed_on))),
        overhauls=int(overhauled.sum()),
        downtime_days=float(downtime),
        availability=1.0 - lost_days / (n_engines * horizon_days) if n_engines else 1.0,
        forfeited_cycles=forfeited,
        **parts,
    )


def run_to_failure_schedule(n_engines: int) -> list[int | None]:
    """The schedule of running every engine to failure: no overhaul at all."""
    return [None] * n_engines


def tune_fixed_interval(train_lifetimes_cycles: ArrayLike, costs: MaintenanceCosts) -> int:
    """The overhaul age, in cycles, that minimises the long-run cost per cycle (age replacement).

    For an overhaul age ``T`` and the empirical life ``L`` of the training engines (run-to-failure
    lifetimes, in cycles), the long-run cost per cycle of flying is the renewal-reward ratio::

        (C_p * R(T) + C_f * (1 - R(T))) / E[min(L, T)]

    with ``R(T) = P(L > T)`` and ``C_p`` and ``C_f`` an overhaul's and a failure's cost including
    their downtime. The life thrown away by overhauling early is already priced by this ratio
    (earlier overhauls mean more overhauls per cycle flown), so no forfeited-life charge is added.
    Every whole ``T`` from 1 to the longest lifetime is tried; ties go to the smallest.
    """
    lifetimes = np.asarray(train_lifetimes_cycles, dtype=np.float64)
    if lifetimes.ndim != 1 or lifetimes.size == 0 or np.any(~(lifetimes > 0)):
        raise DataError("training lifetimes must be a non-empty list of positive cycle counts")
    ages = np.arange(1, math.ceil(lifetimes.max()) + 1, dtype=np.float64)[:, None]
    survival = (lifetimes[None, :] > ages).mean(axis=1)
    flown = np.minimum(lifetimes[None, :], ages).mean(axis=1)
    rate = (costs.overhaul_total() * survival + costs.failure_total() * (1.0 - survival)) / flown
    return int(ages[np.argmin(rate), 0])


def fixed_interval_schedule(
    ages_cycles: ArrayLike, interval_cycles: float, cycles_per_day: float, horizon_days: int
) -> list[int | None]:
    """Overhaul each engine on the first day its age reaches ``interval_cycles``.

    Engines already past that age are booked on day 0; those that do not reach it within the
    horizon get None. Ages are cycles flown so far; ``cycles_per_day`` as in :func:`simulate`.
    """
    ages = np.asarray(ages_cycles, dtype=np.float64)
    days = np.maximum(np.ceil((interval_cycles - ages) / cycles_per_day), 0).astype(np.int64)
    return [int(day) if day < horizon_days else None for day in days]


def compare_policies(
    outcomes: Mapping[str, PolicyOutcome], against: str = "predictive"
) -> dict[str, Savings]:
    """What policy ``against`` saves against every other policy, keyed by the other's name."""
    if against not in outcomes:
        raise DataError(f"no outcome named {against!r} among {', '.join(outcomes)}")
    chosen = outcomes[against].cost
    return {
        name: Savings(
            money=outcome.cost - chosen,
            percent=100.0 * (outcome.cost - chosen) / outcome.cost if outcome.cost else math.nan,
        )
        for name, outcome in outcomes.items()
        if name != against
    }
