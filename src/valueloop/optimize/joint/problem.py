"""A production line to plan: machines with a failure outlook, and orders routed over them.

Time is counted in whole periods (e.g. hours) from now, period 0 being the first. An operation of
``duration`` periods started at period ``s`` occupies the machine over ``[s, s + duration)``; so
does a maintenance window. Every operation and window must end by the ``horizon``.

Each machine's health is a remaining-useful-life prediction in periods (median ``rul``, interval
``[lower, upper]`` at coverage ``interval``), turned into a failure-time distribution by
:class:`~valueloop.optimize.maintenance.FailureTimes`. Money is in the line's ``currency``.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from valueloop.optimize.maintenance import EngineOutlook, FailureTimes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MachineEconomics(_Strict):
    """What maintaining a machine costs and what its failure costs, in money and periods.

    A failure costs ``failure_cost`` (repair) plus ``repair_duration`` periods of unplanned stop at
    ``downtime_cost`` each (lost production the schedule did not plan for). A maintenance window
    costs ``maintenance_cost``; its ``maintenance_duration`` periods are planned in the schedule, so
    their effect on production shows as tardiness, not as a price. Maintaining early throws away
    life: each period of life forfeited costs ``maintenance_cost / mean_life``.
    """

    maintenance_duration: int = Field(ge=1, description="periods a maintenance window lasts")
    maintenance_cost: float = Field(ge=0, description="cost of one planned maintenance (money)")
    failure_cost: float = Field(ge=0, description="cost of repairing a failure (money)")
    repair_duration: int = Field(ge=0, description="periods of unplanned stop after a failure")
    downtime_cost: float = Field(ge=0, description="cost of one period of unplanned stop (money)")
    mean_life: float = Field(gt=0, description="mean run-to-failure life of a machine, periods")

    def failure_total(self) -> float:
        """Cost of one failure with its unplanned stop (money)."""
        return self.failure_cost + self.repair_duration * self.downtime_cost

    def forfeited_period_cost(self) -> float:
        """Cost of one period of life thrown away by an early maintenance (money per period)."""
        return self.maintenance_cost / self.mean_life


class Machine(MachineEconomics):
    """A machine of the line and the prediction of its remaining life, in periods from now."""

    name: str = Field(min_length=1, description="machine identifier")
    rul: float = Field(ge=0, description="median remaining life, periods")
    lower: float = Field(description="lower end of the prediction interval, periods")
    upper: float = Field(gt=0, description="upper end of the prediction interval, periods")
    interval: float = Field(gt=0, lt=1, description="nominal coverage of [lower, upper]")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.lower <= self.rul <= self.upper:
            raise ValueError(
                f"machine {self.name}: expected lower <= rul <= upper, got "
                f"{self.lower} / {self.rul} / {self.upper} periods"
            )
        return self

    def outlook(self) -> EngineOutlook:
        """The remaining-life prediction in the maintenance planner's terms (periods for cycles)."""
        return EngineOutlook(
            asset=self.name,
            rul=self.rul,
            lower=self.lower,
            upper=self.upper,
            interval=self.interval,
        )


class Operation(_Strict):
    """One step of an order's route: ``duration`` periods on ``machine``."""

    machine: str = Field(min_length=1)
    duration: int = Field(ge=1, description="periods")


class Order(_Strict):
    """A production order: operations done in route order, from ``release`` on.

    Each period the last operation ends after ``due`` costs ``weight`` (money per period).
    """

    name: str = Field(min_length=1)
    release: int = Field(ge=0, description="first period the first operation may start")
    due: int = Field(ge=0, description="period by which the last operation should end")
    weight: float = Field(ge=0, description="tardiness cost, money per period late")
    operations: list[Operation] = Field(min_length=1)


class LineProblem(_Strict):
    """Orders to schedule and machines to maintain on one line, within ``horizon`` periods."""

    name: str = Field(default="line", min_length=1)
    horizon: int = Field(ge=1, description="periods planned; every window ends by it")
    currency: str = Field(default="USD", min_length=1)
    machines: list[Machine] = Field(min_length=1)
    orders: list[Order] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for kind, names in (
            ("machine", [machine.name for machine in self.machines]),
            ("order", [order.name for order in self.orders]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"each {kind} must appear once; repeated: {', '.join(repeated)}")
        known = {machine.name for machine in self.machines}
        for order in self.orders:
            unknown = sorted({op.machine for op in order.operations} - known)
            if unknown:
                raise ValueError(f"order {order.name} visits unknown machine(s) {unknown}")
        return self

    def machine_index(self) -> dict[str, int]:
        """Position of each machine in :attr:`machines`, by name."""
        return {machine.name: index for index, machine in enumerate(self.machines)}

    def failure_times(self) -> FailureTimes:
        """Failure-time distribution of every machine, in periods from now."""
        return FailureTimes.from_outlooks([machine.outlook() for machine in self.machines])
