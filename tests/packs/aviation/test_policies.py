"""Maintenance policies played against the true remaining life of the FD001 test fleet."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.optimize.outlooks import FLEET_COSTS, noisy_outlooks

from valueloop.datasets.cmapss import load_cmapss, load_true_rul
from valueloop.errors import ConfigError, DataError
from valueloop.optimize.maintenance import (
    MaintenanceCosts,
    MaintenancePlanner,
    MaintenanceProblem,
)
from valueloop.packs.aviation.account import play_policies
from valueloop.packs.aviation.policies import (
    PolicyOutcome,
    Savings,
    compare_policies,
    fixed_interval_schedule,
    run_to_failure_schedule,
    simulate,
    tune_fixed_interval,
)

# Hand-checkable economics: overhaul 100 and 1 day down, failure 1000 and 5 days down, 10 a day
# of downtime, forfeited life 100 / 10 = 10 a cycle.
HAND_COSTS = MaintenanceCosts(
    planned_overhaul=100,
    unplanned_failure=1000,
    downtime_per_day=10,
    planned_downtime_days=1,
    unplanned_downtime_days=5,
)
HAND = {"costs": HAND_COSTS, "mean_life_cycles": 10.0, "cycles_per_day": 2.0}


def test_three_engines_by_hand() -> None:
    # 2 cycles a day. Engine 0 (5 cycles left) fails on day 2, overhauled on day 1: 100 + 1 day
    # down + 5 - 2 = 3 forfeited cycles. Engine 1 (17 left) runs to failure on day 8: 1000 and
    # 5 days down, of which only days 8 and 9 fall in the 10-day horizon. Engine 2 (30 left)
    # would fail on day 15, overhauled on day 3: 100 + 1 day + 30 - 6 = 24 forfeited cycles.
    outcome = simulate(
        [1, None, 3], [5, 17, 30], horizon_days=10, crew_per_day=1, policy="hand", **HAND
    )
    assert outcome == PolicyOutcome(
        policy="hand",
        cost=200 + 1000 + 70 + 270,
        failures=1,
        failures_waiting=0,
        overhauls=2,
        downtime_days=7,
        availability=1 - (1 + 2 + 1) / 30,
        forfeited_cycles=27,
        overhaul_cost=200,
        failure_cost=1000,
        downtime_cost=70,
        forfeited_life_cost=270,
    )


def test_overhaul_on_the_failure_day_is_too_late() -> None:
    outcome = simulate([2], [4], horizon_days=10, crew_per_day=1, policy="late", **HAND)
    assert (outcome.failures, outcome.overhauls, outcome.cost) == (1, 0, 1050)


def test_requests_beyond_the_crew_wait_and_may_fail() -> None:
    # All three ask for day 0 with one crew: engine 0 goes first; engine 1 (3 cycles left, fails
    # on day 1) is still waiting when it fails; engine 2 is overhauled on day 1 (30 - 2 = 28
    # cycles forfeited).
    queued = simulate([0, 0, 0], [5, 3, 30], horizon_days=10, crew_per_day=1, policy="q", **HAND)
    assert (queued.overhauls, queued.failures, queued.forfeited_cycles) == (2, 1, 5 + 28)
    assert queued.failures_waiting == 1
    assert queued.cost == 2 * 110 + 1050 + 10 * 33
    # With two crews, engines 0 and 1 go on day 0 and engine 2 waits for day 1.
    two = simulate([0, 0, 0], [5, 3, 30], horizon_days=10, crew_per_day=2, policy="q2", **HAND)
    assert (two.overhauls, two.failures, two.forfeited_cycles) == (3, 0, 5 + 3 + 28)
    # A late request does not jump the queue of an earlier one.
    order = simulate([1, 0], [30, 30], horizon_days=10, crew_per_day=1, policy="o", **HAND)
    assert order.forfeited_cycles == (30 - 0) + (30 - 2)


def test_the_crew_serves_the_engine_most_past_its_interval_first() -> None:
    # Three requests on day 0, one crew. By engine number, engine 0 (30 left) would go first and
    # engine 1 (3 left, fails on day 1) would fail waiting; served by cycles flown, engine 1
    # (age 60) goes on day 0 and engine 2 (age 50) on day 1, engine 0 (age 40) on day 2.
    requests = {"horizon_days": 10, "crew_per_day": 1, "policy": "q", **HAND}
    by_number = simulate([0, 0, 0], [30, 3, 30], **requests)
    assert (by_number.failures, by_number.failures_waiting) == (1, 1)
    oldest = simulate([0, 0, 0], [30, 3, 30], ages_cycles=[40, 60, 50], **requests)
    assert (oldest.failures, oldest.failures_waiting, oldest.overhauls) == (0, 0, 3)
    assert oldest.forfeited_cycles == (30 - 4) + (3 - 0) + (30 - 2)
    # An earlier request still goes before a later one from an older engine.
    earlier = simulate([0, 1], [30, 30], ages_cycles=[10, 90], **requests)
    assert earlier.forfeited_cycles == (30 - 0) + (30 - 2)
    with pytest.raises(DataError, match="one age per engine"):
        simulate([0, 1], [30, 30], ages_cycles=[10], **requests)


def test_schedules_by_hand() -> None:
    assert run_to_failure_schedule(3) == [None, None, None]
    # Overhaul at 40 cycles, 2 a day: ages 35 and 39 reach it on days 3 and 1, age 50 is past it
    # (day 0), age 0 reaches it on day 20, after the 10-day horizon.
    assert fixed_interval_schedule([35, 50, 39, 0], 40, 2, 10) == [3, 0, 1, None]
    # Identical lifetimes: overhaul one cycle before they all fail.
    assert tune_fixed_interval([100, 100, 100], HAND_COSTS) == 99


def test_compare_policies_by_hand() -> None:
    outcomes = {
        name: simulate(days, [5, 7], horizon_days=10, crew_per_day=1, policy=name, **HAND)
        for name, days in {"predictive": [1, 2], "run_to_failure": [None, None]}.items()
    }
    # predictive: 2 x 110 + (5 - 2 + 7 - 4) x 10 = 280; run to failure: 2 x 1050 = 2100.
    assert compare_policies(outcomes) == {
        "run_to_failure": Savings(money=1820, percent=pytest.approx(100 * 1820 / 2100))
    }
    free = simulate([None], [100], horizon_days=10, crew_per_day=1, policy="free", **HAND)
    assert math.isnan(compare_policies({"predictive": free, "free": free})["free"].percent)
    with pytest.raises(DataError, match="no outcome named 'predictive'"):
        compare_policies({"free": free})


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(DataError, match="one service day per engine"):
        simulate([0], [5, 7], horizon_days=10, crew_per_day=1, policy="x", **HAND)
    with pytest.raises(DataError, match="non-negative"):
        simulate([-1], [5], horizon_days=10, crew_per_day=1, policy="x", **HAND)
    with pytest.raises(ConfigError, match="crew_per_day"):
        simulate([0], [5], horizon_days=10, crew_per_day=0, policy="x", **HAND)
    with pytest.raises(DataError, match="training lifetimes"):
        tune_fixed_interval([], HAND_COSTS)


def test_predictive_plan_beats_the_baselines_on_fd001() -> None:
    train = load_cmapss("FD001", "train").group_by("unit").aggregate([("cycle", "max")])
    lifetimes = train["cycle_max"].to_numpy().astype(np.float64)
    test = load_cmapss("FD001", "test").group_by("unit").aggregate([("cycle", "max")])
    ages = test.sort_by("unit")["cycle_max"].to_numpy().astype(np.float64)
    true_rul = load_true_rul("FD001")["rul"].to_numpy().astype(np.float64)

    problem = MaintenanceProblem(
        engines=noisy_outlooks(true_rul),
        cycles_per_day=2.0,
        horizon_days=75,
        crew_per_day=2,
        costs=FLEET_COSTS,
        mean_life_cycles=float(lifetimes.mean()),
    )
    plan = MaintenancePlanner().solve(problem)
    interval = tune_fixed_interval(lifetimes, FLEET_COSTS)
    assert lifetimes.min() <= interval <= lifetimes.max()

    outcomes = play_policies(
        ages,
        true_rul,
        plan.assignments["day"].to_pylist(),
        train_lifetimes_cycles=lifetimes,
        costs=FLEET_COSTS,
        cycles_per_day=2.0,
        horizon_days=75,
        crew_per_day=2,
    )
    savings = compare_policies(outcomes)
    print(f"\nplan {plan.status} in {plan.solve_seconds:.2f} s; fixed interval {interval} cycles")
    for outcome in outcomes.values():
        print(
            f"{outcome.policy:>15}: cost {outcome.cost / 1e6:7.1f} M, failures "
            f"{outcome.failures:3d}, overhauls {outcome.overhauls:3d}, availability "
            f"{outcome.availability:.1%}, forfeited {outcome.forfeited_cycles:6.0f} cycles"
        )
    for name, saving in savings.items():
        print(f"predictive saves {saving.money / 1e6:.1f} M ({saving.percent:.1f} %) vs {name}")

    assert outcomes["run_to_failure"].failures == true_rul.size  # all fail within 75 days
    assert savings["run_to_failure"].money > 0
    assert savings["fixed_interval"].money > 0
    # The crew queue is served most cycles flown first: of the fixed age's failures, those of
    # engines waiting for the crew are fewer than the 15 of serving them in engine order.
    fixed = outcomes["fixed_interval"]
    assert fixed.failures_waiting < 15 and fixed.failures_waiting <= fixed.failures
