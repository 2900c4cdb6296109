"""DC optimal power flow (B-theta formulation) solved with HiGHS, and its plan's table.

Columns: one voltage angle per bus (radians; the reference bus fixed at its angle), one output per
generator (MW, within its limits) and, for a piecewise-linear cost, one cost column bounded below
by each segment's line. Rows: the balance of every bus (generation minus load equals the DC flows
leaving it) and the two-sided limit of every rated branch. The cost is the sum of the generators'
curves in money per hour: linear, with HiGHS's QP solver for quadratic terms. Locational marginal
prices are the balance rows' duals (money per MWh). Network data and flow convention: see
:mod:`.network`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from numpy.typing import NDArray

from valueloop.errors import OptimizeError
from valueloop.optimize.base import Plan, SearchSettings, solved_plan
from valueloop.optimize.power.highs import (
    LinearProgram,
    ProgressCallback,
    solver_name,
)
from valueloop.optimize.power.network import DcOpfProblem

OPF_SCHEMA = pa.schema(
    [
        pa.field("element", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("bus", pa.int32(), nullable=False),
        pa.field("to_bus", pa.int32()),
        pa.field("mw", pa.float64(), nullable=False),
        pa.field("limit_mw", pa.float64()),
        pa.field("angle_deg", pa.float64()),
        pa.field("price", pa.float64()),
    ]
)
"""Columns of :attr:`Plan.assignments` of a DC OPF plan: one row per ``element`` ``"bus"`` (``mw``
its load, ``angle_deg``, ``price`` its locational marginal price in money per MWh), then per
``"generator"`` (``mw`` its output, ``limit_mw`` its maximum) and per ``"branch"`` (``bus`` and
``to_bus`` its ends, ``mw`` the flow leaving ``bus``, ``limit_mw`` its rating, null if unrated)."""


def branch_susceptance(problem: DcOpfProblem) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each branch's ``base_mva / (x_pu * ratio)`` (MW per radian) and phase shift (radians)."""
    x = np.array([b.x_pu * b.ratio for b in problem.branches], np.float64)
    shift = np.radians([b.shift_deg for b in problem.branches])
    return problem.base_mva / x, np.asarray(shift, np.float64)


@dataclass(frozen=True, kw_only=True)
class DcOpf(SearchSettings):
    """Solves the DC optimal power flow of a network with HiGHS (LP, or QP for quadratic costs).

    Attributes:
        workers: HiGHS threads (one by default); the seed is HiGHS's, on which the LP/QP result
            does not depend (see :class:`~valueloop.optimize.base.SearchSettings`).
        on_progress: called once with the elapsed seconds, the cost and its bound when solved.
    """

    workers: int = 1
    on_progress: ProgressCallback | None = None

    def solve(self, problem: DcOpfProblem) -> Plan:
        """Dispatch the generators of ``problem``; assignments follow :data:`OPF_SCHEMA`.

        Raises :class:`~valueloop.errors.OptimizeError` if the load cannot be served within the
        generator limits and branch ratings, or if HiGHS finds no solution within ``time_limit``.
        """
        started = time.perf_counter()
        load = np.array([bus.load_mw for bus in problem.buses])
        capacity = sum(g.max_mw for g in problem.generators)
        if load.sum() > capacity:
            raise OptimizeError(
                f"network {problem.name}: load {load.sum():.2f} MW exceeds the generators' "
                f"{capacity:.2f} MW"
            )
        lp, theta, power = _program(problem)
        solution = lp.solve(
            time_limit=max(self.time_limit - (time.perf_counter() - started), 1e-3),
            threads=self.workers,
            seed=self.seed,
        )
        if not solution.solved:
            hint = (
                "the branch ratings cannot carry the load from the generators"
                if solution.status == "INFEASIBLE"
                else f"raise time_limit (now {self.time_limit} s)"
            )
            raise OptimizeError(
                f"network {problem.name}: no DC OPF solution (HiGHS status {solution.status}): "
                f"{hint}"
            )
        if self.on_progress is not None:
            self.on_progress(solution.seconds, solution.objective, solution.bound)
        angles = solution.values[theta]
        output = solution.values[power]
        prices = solution.row_duals[: len(problem.buses)]
        return solved_plan(
            status=solution.status,
            objective=solution.objective,
            bound=solution.bound,
            solve_seconds=solution.seconds,
            assignments=_assignments(problem, angles, output, prices),
            solver=solver_name(),
            log=solution.log,
        )


def _program(problem: DcOpfProblem) -> tuple[LinearProgram, NDArray[np.int64], NDArray[np.int64]]:
    """The B-theta program; the bus balance rows come first, in bus order."""
    buses, generators = problem.buses, problem.generators
    position = {bus.index: i for i, bus in enumerate(buses)}
    reference = np.array([bus.reference for bus in buses])
    fixed_angle = np.radians([bus.angle_deg for bus in buses])
    lp = LinearProgram()
    theta = lp.add_columns(
        len(buses),
        lower=np.where(reference, fixed_angle, -math.inf),
        upper=np.where(reference, fixed_angle, math.inf),
    )
    poly = np.array([g.poly_cost or (0.0, 0.0, 0.0) for g in generators])
    power = lp.add_columns(
        len(generators),
        lower=[g.min_mw for g in generators],
        upper=[g.max_mw for g in generators],
        cost=poly[:, 1],
        quadratic=2.0 * poly[:, 0],
    )
    lp.offset = float(poly[:, 2].sum())

    susceptance, shift = branch_susceptance(problem)
    start = np.array([position[b.from_bus] for b in problem.branches], np.int64)
    end = np.array([position[b.to_bus] for b in problem.branches], np.int64)
    lines = np.arange(len(problem.branches))
    incidence = sp.csr_array(
        (
            np.concatenate([np.ones(lines.size), -np.ones(lines.size)]),
            (np.concatenate([start, end]), np.concatenate([lines, lines])),
        ),
        shape=(len(buses), lines.size),
    )
    flow_matrix = sp.csr_array(incidence.T * susceptance[:, None])  # branch flow per bus angle
    generator_bus = np.array([position[g.bus] for g in generators])
    placement = sp.csr_array(
        (np.ones(len(generators)), (generator_bus, np.arange(len(generators)))),
        shape=(len(buses), len(generators)),
    )
    shifted = incidence @ (susceptance * shift)  # MW each bus exports through phase shifters
    load = np.array([bus.load_mw for bus in buses])
    lp.add_matrix_rows(
        sp.hstack([placement, -(incidence @ flow_matrix)]),
        np.concatenate([power, theta]),
        lower=load - shifted,
        upper=load - shifted,
    )
    rated = np.flatnonzero([b.rate_mw > 0 for b in problem.branches])
    rate = np.array([problem.branches[i].rate_mw for i in rated])
    offset = susceptance[rated] * shift[rated]
    lp.add_matrix_rows(flow_matrix[rated], theta, lower=-rate + offset, upper=rate + offset)

    for g, generator in enumerate(generators):
        if generator.pwl_points is None:
            continue
        x, y = np.array(generator.pwl_points).T
        slopes = np.diff(y) / np.diff(x)
        cost = lp.add_columns(1, lower=-math.inf, cost=1.0)
        # cost >= y_k + slope_k * (p - x_k) for every segment k
        lp.add_rows([(1.0, cost), (-slopes, power[g])], lower=y[:-1] - slopes * x[:-1])
    return lp, theta, power


def _assignments(
    problem: DcOpfProblem,
    angles: NDArray[np.float64],
    output: NDArray[np.float64],
    prices: NDArray[np.float64],
) -> pa.Table:
    susceptance, shift = branch_susceptance(problem)
    position = {bus.index: i for i, bus in enumerate(problem.buses)}
    start = np.array([position[b.from_bus] for b in problem.branches], np.int64)
    end = np.array([position[b.to_bus] for b in problem.branches], np.int64)
    flow = susceptance * (angles[start] - angles[end] - shift)
    n_bus, n_gen, n_branch = len(problem.buses), len(problem.generators), len(problem.branches)
    rate = np.array([b.rate_mw for b in problem.branches])
    none = [None]
    return pa.table(
        {
            "element": ["bus"] * n_bus + ["generator"] * n_gen + ["branch"] * n_branch,
            "name": [f"bus {b.index}" for b in problem.buses]
            + [g.name for g in problem.generators]
            + [b.name for b in problem.branches],
            "bus": [b.index for b in problem.buses]
            + [g.bus for g in problem.generators]
            + [b.from_bus for b in problem.branches],
            "to_bus": none * (n_bus + n_gen) + [b.to_bus for b in problem.branches],
            "mw": np.concatenate([[b.load_mw for b in problem.buses], output, flow]),
            "limit_mw": none * n_bus
            + [g.max_mw for g in problem.generators]
            + [float(r) if r > 0 else None for r in rate],
            "angle_deg": np.degrees(angles).tolist() + none * (n_gen + n_branch),
            "price": prices.tolist() + none * (n_gen + n_branch),
        },
        schema=OPF_SCHEMA,
    )
