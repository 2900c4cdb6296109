"""The shop to schedule: jobs of operations, each run on one of its eligible machines.

One model covers the job-shop (every operation has one machine) and the flexible job-shop (an
operation chooses among alternative machines, each with its own processing time), with the
extensions a plant needs: release dates, due dates and weights, a machine calendar of downtime
windows, and sequence-dependent set-up times.

Time is counted in whole time units (e.g. minutes) from the start of the plan, time 0.

Conventions:

- The operations of a job run in the order listed, each without interruption on one machine.
- A machine runs one operation at a time. A set-up between two operations run one after the other
  on a machine is a minimum changeover gap between the end of the first and the start of the second
  (``setup(previous job, next job)``); downtime windows forbid processing, not changeovers.
- Downtime ``[start, end)`` on a machine: no operation on that machine may overlap it.
- ``horizon``, when given, is the end of the planning window: every operation must end by then.
- Objectives: ``makespan`` is the end of the last operation; ``weighted_tardiness`` is
  ``sum(weight * max(0, completion - due))`` over the jobs that have a due date.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

Objective = Literal["makespan", "weighted_tardiness"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One way to run an operation: on ``machine`` (0-based) for ``duration`` time units."""

    machine: int = Field(ge=0)
    duration: int = Field(ge=0)


class Operation(_Strict):
    """A step of a job, with its eligible machines; no option at all makes the shop infeasible."""

    options: list[Option]

    @model_validator(mode="after")
    def _distinct_machines(self) -> Self:
        machines = [option.machine for option in self.options]
        if len(set(machines)) < len(machines):
            raise ValueError(f"an operation lists a machine twice among its options {machines}")
        return self


class Job(_Strict):
    """A job: its operations in processing order, and when it may start and is due.

    Attributes:
        name: label shown in reports (the job's index when empty).
        release: earliest start of the first operation, in time units.
        due: due date of the last operation, in time units, or None (never tardy).
        weight: cost of one time unit of tardiness (weighted-tardiness objective).
        family: product family, for set-up times given between families.
    """

    name: str = ""
    operations: list[Operation] = Field(min_length=1)
    release: int = Field(default=0, ge=0)
    due: int | None = Field(default=None, ge=0)
    weight: int = Field(default=1, ge=0)
    family: int = Field(default=0, ge=0)


class Downtime(_Strict):
    """A window ``[start, end)`` in which ``machine`` cannot process (maintenance, no shift)."""

    machine: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError(
                f"downtime of machine {self.machine} ends at {self.end}, not after "
                f"its start {self.start}"
            )
        return self


class SetupTimes(_Strict):
    """Sequence-dependent set-up times of some machines, in time units.

    ``times[a][b]`` is the changeover from an operation of job (or family) ``a`` to one of job (or
    family) ``b``, as chosen by ``between``. ``machines`` lists the machines it applies to (all
    machines when None); a machine may be covered by one entry at most.
    """

    machines: list[int] | None = None
    between: Literal["jobs", "families"] = "jobs"
    times: list[list[int]] = Field(min_length=1)

    @model_validator(mode="after")
    def _square(self) -> Self:
        size = len(self.times)
        if any(len(row) != size for row in self.times):
            raise ValueError(
                f"set-up times must be a square matrix; got {size} rows of lengths "
                f"{sorted({len(row) for row in self.times})}"
            )
        if any(value < 0 for row in self.times for value in row):
            raise ValueError("set-up times must not be negative")
        return self


class ShopProblem(_Strict):
    """A job-shop or flexible job-shop to schedule (see the module documentation)."""

    name: str = ""
    machines: int = Field(ge=1, description="number of machines, numbered from 0")
    jobs: list[Job] = Field(min_length=1)
    objective: Objective = "makespan"
    downtime: list[Downtime] = Field(default_factory=list)
    setups: list[SetupTimes] = Field(default_factory=list)
    horizon: int | None = Field(default=None, ge=1, description="end of the planning window")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for j, job in enumerate(self.jobs):
            for k, operation in enumerate(job.operations):
                for option in operation.options:
                    if option.machine >= self.machines:
                        raise ValueError(
                            f"job {j} operation {k} names machine {option.machine}; "
                            f"the shop has machines 0..{self.machines - 1}"
                        )
        for window in self.downtime:
            if window.machine >= self.machines:
                raise ValueError(
                    f"downtime names machine {window.machine}; the shop has "
                    f"machines 0..{self.machines - 1}"
                )
        covered: set[int] = set()
        families = max(job.family for job in self.jobs) + 1
        for entry in self.setups:
            machines = set(range(self.machines) if entry.machines is None else entry.machines)
            if covered & machines:
                raise ValueError(f"machines {sorted(covered & machines)} have two set-up tables")
            if any(m >= self.machines or m < 0 for m in machines):
                raise ValueError(f"set-up table names machines outside 0..{self.machines - 1}")
            covered |= machines
            needed = len(self.jobs) if entry.between == "jobs" else families
            if len(entry.times) < needed:
                raise ValueError(
                    f"set-up table between {entry.between} has {len(entry.times)} "
                    f"rows; it needs {needed}"
                )
        if self.objective == "weighted_tardiness" and all(job.due is None for job in self.jobs):
            raise ValueError("the weighted_tardiness objective needs due dates on some jobs")
        return self

    @property
    def is_flexible(self) -> bool:
        """True when some operation has a choice of machines."""
        return any(len(op.options) > 1 for job in self.jobs for op in job.operations)

    def setup_matrices(self) -> dict[int, NDArray[np.int64]]:
        """Set-up time from job to job on each machine that has set-ups, as (jobs, jobs) arrays."""
        families = np.array([job.family for job in self.jobs])
        matrices: dict[int, NDArray[np.int64]] = {}
        for entry in self.setups:
            times = np.array(entry.times, dtype=np.int64)
            if entry.between == "families":
                times = times[np.ix_(families, families)]
            else:
                times = times[: len(self.jobs), : len(self.jobs)]
            for machine in range(self.machines) if entry.machines is None else entry.machines:
                matrices[machine] = times
        return matrices

    def time_bound(self) -> int:
        """An end of time by which some optimal schedule has finished, in time units.

        Both objectives never reward waiting, so some optimal schedule starts every operation as
        early as its job and machine order allow: at a release date, at the end of a downtime
        window, or at the end (plus set-up) of another operation. Following those links back, an
        operation ends by the latest such anchor plus every operation's longest option and largest
        set-up.
        """
        work = sum(
            max((o.duration for o in op.options), default=0)
            for job in self.jobs
            for op in job.operations
        )
        setup_max = max((int(m.max()) for m in self.setup_matrices().values()), default=0)
        operations = sum(len(job.operations) for job in self.jobs)
        latest_downtime = max((w.end for w in self.downtime), default=0)
        release = max(job.release for job in self.jobs)
        return max(release, latest_downtime) + work + setup_max * operations + 1
