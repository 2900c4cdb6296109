"""A sparse linear (or convex quadratic) program built by blocks and solved with HiGHS.

The power models describe their variables and constraints as numpy blocks (one call per family of
variables or rows, never one per variable), which :class:`LinearProgram` gathers into a column-wise
sparse matrix and hands to HiGHS through highspy. :meth:`LinearProgram.solve` converts HiGHS's
verdict into a :class:`Solution`: the plan statuses of :mod:`valueloop.optimize.base`, the objective
and the proven bound, and the primal values and row duals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from valueloop.errors import OptimizeError

ProgressCallback = Callable[[float, float, float], None]
"""Called with elapsed seconds, incumbent objective and best bound when the incumbent improves."""

OPTIMAL_GAP = 1e-6
"""Largest relative gap of a plan reported as ``"OPTIMAL"``; HiGHS closes the search to it."""

_INTERRUPTED = {
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kInterrupt,
    highspy.HighsModelStatus.kSolutionLimit,
}
_INFEASIBLE = {
    highspy.HighsModelStatus.kInfeasible,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
}
_FEASIBLE_POINT = 2  # HiGHS primal_solution_status of a feasible point


@dataclass(frozen=True)
class Solution:
    """HiGHS's answer to a :class:`LinearProgram`.

    Attributes:
        status: ``"OPTIMAL"``, ``"FEASIBLE"`` (stopped with a solution in hand), ``"INFEASIBLE"``
            or another HiGHS model status in capitals (then ``values`` is empty).
        objective: objective of the solution, in the program's cost unit.
        bound: proven lower bound (the objective itself for a solved LP or QP; ``-inf`` if the
            search stopped before proving any).
        gap: relative gap between them, in [0, 1].
        values: one value per column.
        row_duals: one dual value per row (zeros for a MIP), cost unit per row unit.
        seconds: HiGHS's run time, in seconds.
        log: HiGHS's summary of the run.
    """

    status: str
    objective: float
    bound: float
    gap: float
    values: NDArray[np.float64]
    row_duals: NDArray[np.float64]
    seconds: float
    log: str

    @property
    def solved(self) -> bool:
        """Whether the solution can be carried out (optimal, or feasible at the time limit)."""
        return self.status in ("OPTIMAL", "FEASIBLE")


def relative_gap(objective: float, bound: float) -> float:
    """``(objective - bound) / |objective|`` clipped to [0, 1]; 1 when no bound is known."""
    if not math.isfinite(bound):
        return 1.0
    return min(max((objective - bound) / max(abs(objective), 1e-9), 0.0), 1.0)


def solver_name() -> str:
    """Name and version of the solver, for :attr:`Plan.solver`."""
    return f"HiGHS (highspy {version('highspy')})"


class LinearProgram:
    """A minimisation program assembled block by block.

    Columns have bounds, a linear cost, an optional diagonal quadratic cost (``0.5 * q * x**2``)
    and an integrality flag; rows are ranges ``lower <= a.x <= upper`` whose coefficients are given
    as (row, column, value) triplets. The cost unit and scale are the caller's; ``offset`` is a
    constant added to the objective.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.num_columns = 0
        self.num_rows = 0
        self._lower: list[NDArray[np.float64]] = []
        self._upper: list[NDArray[np.float64]] = []
        self._cost: list[NDArray[np.float64]] = []
        self._quadratic: list[NDArray[np.float64]] = []
        self._integer: list[NDArray[np.bool_]] = []
        self._row_lower: list[NDArray[np.float64]] = []
        self._row_upper: list[NDArray[np.float64]] = []
        self._entries: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] = []

    def add_columns(
        self,
        shape: int | tuple[int, ...],
        *,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = math.inf,
        cost: ArrayLike = 0.0,
        quadratic: ArrayLike = 0.0,
        integer: bool = False,
    ) -> NDArray[np.int64]:
        """Add a block of columns; return their indices arranged in ``shape``."""
        index = np.arange(self.num_columns, self.num_columns + int(np.prod(shape)))
        index = index.reshape(shape)
        size = index.size
        self._lower.append(np.broadcast_to(np.asarray(lower, np.float64), index.shape).ravel())
        self._upper.append(np.broadcast_to(np.asarray(upper, np.float64), index.shape).ravel())
        self._cost.append(np.broadcast_to(np.asarray(cost, np.float64), index.shape).ravel())
        self._quadratic.append(
            np.broadcast_to(np.asarray(quadratic, np.float64), index.shape).ravel()
        )
        self._integer.append(np.full(size, integer))
        self.num_columns += size
        return index

    def add_rows(
        self,
        terms: Sequence[tuple[ArrayLike, ArrayLike]],
        *,
        lower: ArrayLike = -math.inf,
        upper: ArrayLike = math.inf,
    ) -> NDArray[np.int64]:
        """Add a block of rows ``lower <= sum(coefficient * column) <= upper``.

        ``terms`` is a list of (coefficient, column index) array pairs that broadcast to the
        block's shape, e.g. ``[(1.0, power), (-available, on)]`` for ``power - available * on``;
        a column index of -1 marks an absent term. Returns the row indices in the block's shape.
        """
        arrays = [(np.asarray(c, np.float64), np.asarray(j, np.int64)) for c, j in terms]
        shape = np.broadcast_shapes(
            np.shape(lower), np.shape(upper), *(a.shape for pair in arrays for a in pair)
        )
        rows = np.arange(self.num_rows, self.num_rows + int(np.prod(shape))).reshape(shape)
        for coefficient, column in arrays:
            c = np.broadcast_to(coefficient, shape).ravel()
            j = np.broadcast_to(column, shape).ravel()
            keep = (j >= 0) & (c != 0.0)
            self._entries.append((rows.ravel()[keep], j[keep], c[keep]))
        self._row_lower.append(np.broadcast_to(np.asarray(lower, np.float64), shape).ravel())
        self._row_upper.append(np.broadcast_to(np.asarray(upper, np.float64), shape).ravel())
        self.num_rows += rows.size
        return rows

    def add_matrix_rows(
        self,
        matrix: sp.spmatrix | sp.sparray,
        columns: NDArray[np.int64],
        *,
        lower: ArrayLike = -math.inf,
        upper: ArrayLike = math.inf,
    ) -> NDArray[np.int64]:
        """Add rows ``lower <= matrix @ x[columns] <= upper`` given as a sparse matrix."""
        coo = sp.coo_array(matrix)
        count = coo.shape[0]
        rows = np.arange(self.num_rows, self.num_rows + count)
        self._entries.append(
            (rows[coo.row], np.asarray(columns)[coo.col].astype(np.int64), coo.data.astype(float))
        )
        self._row_lower.append(np.broadcast_to(np.asarray(lower, np.float64), (count,)).ravel())
        self._row_upper.append(np.broadcast_to(np.asarray(upper, np.float64), (count,)).ravel())
        self.num_rows += count
        return rows

    def _model(self) -> highspy.HighsModel:
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.num_columns, self.num_rows
        lp.offset_ = self.offset
        lp.col_cost_ = np.concatenate(self._cost)
        lp.col_lower_ = np.concatenate(self._lower)
        lp.col_upper_ = np.concatenate(self._upper)
        lp.row_lower_ = np.concatenate(self._row_lower) if self._row_lower else np.zeros(0)
        lp.row_upper_ = np.concatenate(self._row_upper) if self._row_upper else np.zeros(0)
        rows, columns, values = (
            np.concatenate([entry[i] for entry in self._entries]) if self._entries else np.zeros(0)
            for i in range(3)
        )
        matrix = sp.csc_matrix(
            (values, (rows, columns)), shape=(self.num_rows, self.num_columns), dtype=np.float64
        )
        matrix.sum_duplicates()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        integer = np.concatenate(self._integer)
        if integer.any():
            kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
            lp.integrality_ = [kinds[flag] for flag in integer.tolist()]
        model = highspy.HighsModel()
        model.lp_ = lp
        quadratic = np.concatenate(self._quadratic)
        if quadratic.any():
            nonzero = np.flatnonzero(quadratic)
            hessian = highspy.HighsHessian()
            hessian.dim_ = self.num_columns
            hessian.format_ = highspy.HessianFormat.kTriangular
            hessian.start_ = np.searchsorted(nonzero, np.arange(self.num_columns + 1)).astype(
                np.int32
            )
            hessian.index_ = nonzero.astype(np.int32)
            hessian.value_ = quadratic[nonzero]
            model.hessian_ = hessian
        return model

    def solve(
        self,
        *,
        time_limit: float,
        threads: int,
        seed: int,
        on_progress: ProgressCallback | None = None,
    ) -> Solution:
        """Solve with HiGHS within ``time_limit`` seconds; see :class:`Solution`."""
        highs = highspy.Highs()  # type: ignore[no-untyped-call, unused-ignore]
        for name, value in (
            ("output_flag", False),
            ("time_limit", float(max(time_limit, 1e-3))),
            ("threads", int(threads)),
            ("random_seed", int(seed)),
            ("mip_rel_gap", OPTIMAL_GAP),
        ):
            if highs.setOptionValue(name, value) != highspy.HighsStatus.kOk:
                raise OptimizeError(f"HiGHS refused option {name}={value!r}")
        if on_progress is not None:
            callback = on_progress

            def improved(event: Any) -> None:
                data = event.data_out
                callback(
                    float(data.running_time),
                    float(data.objective_function_value),
                    float(data.mip_dual_bound),
                )

            highs.cbMipImprovingSolution.subscribe(improved)
        if highs.passModel(self._model()) == highspy.HighsStatus.kError:
            raise OptimizeError("HiGHS rejected the model: it is malformed (a bug, please report)")
        highs.run()
        return _solution(highs, is_mip=any(flags.any() for flags in self._integer))


def _solution(highs: highspy.Highs, *, is_mip: bool) -> Solution:
    status = highs.getModelStatus()
    info = highs.getInfo()
    seconds = float(highs.getRunTime())
    name = highs.modelStatusToString(status)
    log = (
        f"HiGHS {name}: objective {info.objective_function_value}, "
        f"simplex iterations {info.simplex_iteration_count}, "
        f"B&B nodes {info.mip_node_count if is_mip else 0}, {seconds:.3f} s"
    )
    has_point = info.primal_solution_status == _FEASIBLE_POINT
    if not (status == highspy.HighsModelStatus.kOptimal or (status in _INTERRUPTED and has_point)):
        code = "INFEASIBLE" if status in _INFEASIBLE else name.upper().replace(" ", "_")
        empty = np.zeros(0)
        return Solution(code, math.nan, math.nan, 1.0, empty, empty, seconds, log)
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if is_mip else objective
    if not math.isfinite(bound):
        bound = -math.inf
    gap = relative_gap(objective, bound)
    optimal = status == highspy.HighsModelStatus.kOptimal and gap <= OPTIMAL_GAP
    solution = highs.getSolution()
    return Solution(
        status="OPTIMAL" if optimal else "FEASIBLE",
        objective=objective,
        bound=bound,
        gap=gap,
        values=np.asarray(solution.col_value, dtype=np.float64),
        row_duals=np.asarray(solution.row_dual, dtype=np.float64),
        seconds=seconds,
        log=log,
    )
