"""A generator fleet to commit and dispatch over hours: the :class:`DispatchProblem` and its file.

A fleet file is YAML (or JSON, which YAML reads too). Powers are in MW, energy in MWh, one period
is one hour, fuel in GJ and money in the file's ``currency``::

    name: example fleet
    currency: EUR
    demand_mw: [620, 580, ...]          # one value per hour; its length sets the horizon
    reserve_mw: [60, 60, ...]           # optional spinning reserve per hour (same length)
    ambient_temperature_c: [12, ...]    # optional, needed by units with an ambient derating
    units:
      - name: ccgt_1
        min_mw: 180                     # lowest stable output when on
        max_mw: 480                     # rated output (at the derating's reference temperature)
        fuel_price: 9.5                 # money per GJ of fuel
        heat_rate: [[180, 7.9], [330, 7.0], [480, 6.6]]   # [MW, GJ/MWh] average heat rates
        variable_cost: 2.5              # optional, money per MWh (operation and maintenance)
        start_cost: 15000               # money per start
        min_up_hours: 4                 # once started, stays on at least this long
        min_down_hours: 3               # once stopped, stays off at least this long
        ramp_up_mw: 200                 # MW per hour, optional (no limit if absent)
        ramp_down_mw: 200
        ambient: ccpp                   # optional: "ccpp", or {reference_c: 15, per_degc: -0.005}
        initial: {committed: true, hours: 8, mw: 300}   # the hour before the horizon
        commitment: [1, 1, 0, ...]      # optional, fixes the on/off state of each hour

A unit's fuel use is given either by ``heat_rate`` points from ``min_mw`` to ``max_mw`` (the fuel
curve runs through ``mw * heat_rate`` at each point) or by a quadratic ``fuel_curve: {a, b, c,
segments}`` (``a + b * mw + c * mw**2`` GJ/h, represented by its secants over ``segments`` equal
slices of the range). Either way the fuel curve is piecewise linear and must be convex: the
incremental heat rate may not fall as output rises. The hourly cost of a unit that is on is
``fuel_price * fuel(mw) + variable_cost * mw``, plus ``start_cost`` in each hour it starts.

Ambient derating: the unit's available capacity in hour ``t`` is ``max_mw`` times the derating's
capacity factor at ``ambient_temperature_c[t]`` (see :mod:`.ambient`); ``ambient: ccpp`` uses the
line fitted on the CCPP plant data. A unit whose available capacity falls below ``min_mw`` in an
hour cannot run in that hour.

Ramping: between two hours on, output changes by at most ``ramp_up_mw`` / ``ramp_down_mw``; a unit
starts at no more than ``max(min_mw, ramp_up_mw)`` and stops from no more than
``max(min_mw, ramp_down_mw)``. Spinning reserve is headroom of units that are on, each unit's
share limited to its ``ramp_up_mw``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from valueloop.config import parse_yaml, read_yaml
from valueloop.optimize.power.ambient import AmbientDerating, ccpp_derating

_CONVEXITY_TOLERANCE = 1e-9  # money per MWh: slack allowed on non-decreasing incremental costs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class QuadraticFuelCurve(_Strict):
    """Fuel input ``a + b * mw + c * mw**2`` in GJ/h, made piecewise linear by its secants."""

    a: float = Field(ge=0, description="no-load fuel, GJ/h")
    b: float = Field(ge=0, description="linear term, GJ/MWh")
    c: float = Field(ge=0, description="quadratic term, GJ/(MW^2 h)")
    segments: int = Field(default=4, ge=1, le=50, description="secants over the output range")


class InitialState(_Strict):
    """A unit's state in the hour before the horizon."""

    committed: bool = Field(default=False, description="on (true) or off (false)")
    hours: int = Field(default=1000, ge=1, description="hours it has been in this state")
    mw: float = Field(default=0.0, ge=0, description="output in that hour, MW")


class Unit(_Strict):
    """A dispatchable generating unit (see the module documentation for each field's meaning)."""

    name: str = Field(min_length=1)
    min_mw: float = Field(ge=0)
    max_mw: float = Field(gt=0)
    fuel_price: float = Field(ge=0, description="money per GJ")
    heat_rate: list[tuple[float, float]] | None = Field(
        default=None, min_length=2, description="[MW, GJ/MWh] average heat rate points"
    )
    fuel_curve: QuadraticFuelCurve | None = None
    variable_cost: float = Field(default=0.0, ge=0, description="money per MWh")
    start_cost: float = Field(default=0.0, ge=0, description="money per start")
    min_up_hours: int = Field(default=1, ge=1)
    min_down_hours: int = Field(default=1, ge=1)
    ramp_up_mw: float | None = Field(default=None, gt=0, description="MW per hour")
    ramp_down_mw: float | None = Field(default=None, gt=0, description="MW per hour")
    ambient: Literal["ccpp"] | AmbientDerating | None = None
    initial: InitialState = InitialState()
    commitment: list[bool] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_mw > self.max_mw:
            raise ValueError(f"min_mw {self.min_mw} exceeds max_mw {self.max_mw}")
        if (self.heat_rate is None) == (self.fuel_curve is None):
            raise ValueError("give exactly one of heat_rate and fuel_curve")
        if self.heat_rate is not None:
            mw = [point[0] for point in self.heat_rate]
            if mw[0] != self.min_mw or mw[-1] != self.max_mw or np.any(np.diff(mw) <= 0):
                raise ValueError(
                    "heat_rate points must rise strictly from min_mw to max_mw, got MW "
                    f"{mw} for a range {self.min_mw}..{self.max_mw}"
                )
            if any(point[1] <= 0 for point in self.heat_rate):
                raise ValueError("heat rates must be positive GJ/MWh")
        points_mw, points_cost = self.cost_points()
        incremental = np.diff(points_cost) / np.diff(points_mw)
        if np.any(np.diff(incremental) < -_CONVEXITY_TOLERANCE):
            raise ValueError(
                f"the fuel curve is not convex: incremental costs {np.round(incremental, 3)} "
                "per MWh fall somewhere; give heat rates whose incremental rate rises with output"
            )
        if self.initial.committed and self.initial.mw < self.min_mw:
            raise ValueError(f"initial.mw {self.initial.mw} is below min_mw of a unit that is on")
        if not self.initial.committed and self.initial.mw != 0:
            raise ValueError("initial.mw must be 0 for a unit that is off")
        return self

    def cost_points(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Breakpoints of the hourly cost curve: output (MW) and cost (money per hour) when on."""
        if self.heat_rate is not None:
            mw = np.array([point[0] for point in self.heat_rate], np.float64)
            fuel = mw * np.array([point[1] for point in self.heat_rate], np.float64)
        else:
            assert self.fuel_curve is not None  # guaranteed by _consistent
            curve = self.fuel_curve
            mw = np.linspace(self.min_mw, self.max_mw, curve.segments + 1)
            fuel = curve.a + curve.b * mw + curve.c * mw**2
        return mw, self.fuel_price * fuel + self.variable_cost * mw

    def derating(self) -> AmbientDerating | None:
        """The unit's ambient derating, the CCPP fit resolved."""
        return ccpp_derating() if self.ambient == "ccpp" else self.ambient

    def ramp_up(self) -> float:
        """Ramp-up limit in MW per hour (twice the rating, i.e. no limit, when not given)."""
        return self.ramp_up_mw if self.ramp_up_mw is not None else self.max_mw * 2

    def ramp_down(self) -> float:
        """Ramp-down limit in MW per hour (twice the rating, i.e. no limit, when not given)."""
        return self.ramp_down_mw if self.ramp_down_mw is not None else self.max_mw * 2


class DispatchProblem(_Strict):
    """Hourly demand (and reserve) to meet with a fleet of units, at least cost."""

    name: str = "fleet"
    currency: str = "EUR"
    demand_mw: list[float] = Field(min_length=1)
    reserve_mw: list[float] | None = None
    ambient_temperature_c: list[float] | None = None
    units: list[Unit] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        hours = len(self.demand_mw)
        if any(value < 0 for value in self.demand_mw):
            raise ValueError("demand_mw must not be negative")
        for label, series in (
            ("reserve_mw", self.reserve_mw),
            ("ambient_temperature_c", self.ambient_temperature_c),
        ):
            if series is not None and len(series) != hours:
                raise ValueError(f"{label} has {len(series)} values, demand_mw has {hours} hours")
        if self.reserve_mw is not None and any(value < 0 for value in self.reserve_mw):
            raise ValueError("reserve_mw must not be negative")
        names = [unit.name for unit in self.units]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"each unit must appear once; repeated: {', '.join(repeated)}")
        for unit in self.units:
            if unit.ambient is not None and self.ambient_temperature_c is None:
                raise ValueError(
                    f"unit {unit.name} has an ambient derating: give ambient_temperature_c"
                )
            if unit.commitment is not None and len(unit.commitment) != hours:
                raise ValueError(
                    f"unit {unit.name}: commitment has {len(unit.commitment)} hours, not {hours}"
                )
        return self

    @property
    def hours(self) -> int:
        """Number of hours in the horizon."""
        return len(self.demand_mw)

    def demand(self) -> NDArray[np.float64]:
        """Demand per hour, MW."""
        return np.asarray(self.demand_mw, np.float64)

    def reserve(self) -> NDArray[np.float64]:
        """Spinning reserve required per hour, MW (zeros when none is asked)."""
        return np.asarray(self.reserve_mw or np.zeros(self.hours), np.float64)

    def available_mw(self) -> NDArray[np.float64]:
        """Available capacity of each unit and hour after ambient derating, (units, hours) MW."""
        temperature = np.asarray(self.ambient_temperature_c or np.zeros(self.hours), np.float64)
        rows = []
        for unit in self.units:
            derating = unit.derating()
            factor = (
                np.ones(self.hours) if derating is None else derating.capacity_factor(temperature)
            )
            rows.append(unit.max_mw * factor)
        return np.vstack(rows)

    def with_commitment(self, on: NDArray[np.bool_]) -> DispatchProblem:
        """The same problem with every unit's on/off state fixed, (units, hours) booleans."""
        units = [
            unit.model_copy(update={"commitment": [bool(x) for x in row]})
            for unit, row in zip(self.units, on, strict=True)
        ]
        return self.model_copy(update={"units": units})


def parse_dispatch_problem(text: str, *, source: str = "fleet.yaml") -> DispatchProblem:
    """Validate a fleet file's text (YAML or JSON); errors name the file, line and field."""
    return parse_yaml(text, DispatchProblem, source=source, what="fleet file")


def load_dispatch_problem(path: str | Path) -> DispatchProblem:
    """Read and validate a fleet file (``.yaml``, ``.yml`` or ``.json``)."""
    return read_yaml(path, DispatchProblem, what="fleet file")
