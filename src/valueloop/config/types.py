"""Asset types: what every asset of a type carries, how it is analysed and alarmed, what it costs.

An asset type is a template, as an AWS IoT SiteWise asset model or a PI AF element template: its
signals (measured series, with units), set-points (writable values, with limits), attributes
(static values such as a rated power), the analytics bound to it (run for every asset of the
type), its alarms and its costs (used to put a money value on a proposal).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from valueloop.config.yamlio import duration_field

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""A signal, set-point, attribute, binding or alarm name: letters, digits and ``_``."""

Name = Annotated[str, Field(pattern=NAME)]
Priority = Literal["low", "medium", "high", "critical"]


class Strict(BaseModel):
    """A configuration model: unknown keys are errors, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _durations(*names: str) -> Any:
    return field_validator(*names, mode="before")(lambda cls, value: duration_field(value))


class SignalSpec(Strict):
    """A measured signal: its engineering unit and how often a reading is expected."""

    unit: str = Field(
        "", description="engineering unit as pint reads it (kW, mm/s, degC); '' for none"
    )
    description: str = ""
    expected_interval: timedelta | None = Field(
        None, description="how often a reading is expected (stale-data alarms count these)"
    )

    _duration = _durations("expected_interval")


class AutoBand(Strict):
    """A band narrower than a set-point's limits inside which a change is approved automatically."""

    min: float
    max: float
    max_step: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class GuardSpec(Strict):
    """A limit on a signal watched after a set-point change: broken within ``within``, the change
    is rolled back automatically (and an alarm raised)."""

    signal: Name
    above: float | None = None
    below: float | None = None
    within: timedelta = Field(timedelta(minutes=10), description="how long after the change")

    _duration = _durations("within")

    @model_validator(mode="after")
    def _limit(self) -> Self:
        if self.above is None and self.below is None:
            raise ValueError("a guard needs above or below")
        return self


class SetpointSpec(Strict):
    """A writable set-point with its limits: a change outside them is refused.

    ``max_step`` bounds one change from the current value, ``min_interval`` the time between two
    changes of the same asset's set-point. An executed change is verified when the field reads
    back the target within ``tolerance`` (default: 0.1 % of the range) before ``verify_within``.
    """

    unit: str = ""
    min: float
    max: float
    max_step: Annotated[float, Field(gt=0)] | None = Field(
        None, description="largest change from the current value in one write"
    )
    min_interval: timedelta | None = Field(
        None, description="least time between two changes of this set-point on one asset"
    )
    tolerance: Annotated[float, Field(ge=0)] | None = Field(
        None, description="read-back tolerance, in the set-point's unit"
    )
    verify_within: timedelta = Field(
        timedelta(seconds=30), description="how long the read-back may take"
    )
    auto: AutoBand | None = Field(
        None, description="changes inside this band are approved automatically"
    )
    guards: list[GuardSpec] = Field(
        default_factory=list, description="limits that roll a change back when broken after it"
    )
    signal: Name | None = Field(None, description="the signal that shows the set-point's effect")
    description: str = ""

    _duration = _durations("min_interval", "verify_within")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.auto is not None and (self.auto.min < self.min or self.auto.max > self.max):
            raise ValueError("the auto band must lie inside min and max")
        return self

    def read_tolerance(self) -> float:
        """The read-back tolerance in the set-point's unit."""
        if self.tolerance is not None:
            return self.tolerance
        return max((self.max - self.min) * 1e-3, 1e-9)


class AttributeSpec(Strict):
    """A static property of every asset of a type (rated power, install year)."""

    unit: str = ""
    description: str = ""
    default: float | str | None = None


class FitSpec(Strict):
    """When a binding's model learns: a training window, refitted every ``every`` (or once)."""

    window: timedelta = Field(description="data time the model trains on")
    every: timedelta | None = Field(None, description="refit period in data time; absent: once")
    min_points: Annotated[int, Field(ge=1)] = Field(30, description="complete rows needed")

    _duration = _durations("window", "every")


class BindingSpec(Strict):
    """An analytic bound to the signals of an asset type, by its registered kind.

    Detectors (kinds of ``valueloop.detectors``) read ``signals`` and write ``<name>_score``.
    Models (kinds of ``valueloop.models``) regress ``target`` on ``inputs``
    (``expected_value``: ``<name>_expected``, ``_lower``, ``_upper``, ``_residual``) or forecast
    ``target`` (``forecaster``: ``<name>_forecast``, ``_lower``, ``_upper``).
    """

    name: Name
    kind: str
    signals: list[Name] = Field(default_factory=list, description="signals a detector reads")
    target: Name | None = Field(None, description="the signal a model predicts")
    inputs: list[Name] = Field(default_factory=list, description="a model's regressors")
    params: dict[str, Any] = Field(default_factory=dict, description="the kind's hyper-parameters")
    fit: FitSpec
    resample: timedelta = Field(timedelta(seconds=1), description="grid step the rows are on")
    max_gap: timedelta | None = Field(None, description="carry a value forward at most this long")
    threshold: Annotated[float, Field(ge=0, le=1)] = Field(
        0.99, description="a detector score above it is anomalous"
    )
    horizon: timedelta | None = Field(None, description="how far a forecaster looks ahead")
    predict_every: timedelta | None = Field(None, description="how often a forecaster forecasts")
    every: timedelta | None = Field(None, description="job period on the engine's clock")

    _duration = _durations("resample", "max_gap", "horizon", "predict_every", "every")

    def read_signals(self) -> list[str]:
        """Every signal the binding reads."""
        names = [*self.signals, *self.inputs]
        if self.target is not None:
            names.append(self.target)
        return list(dict.fromkeys(names))


class StaleSpec(Strict):
    """No reading (or only bad ones) for ``intervals`` expected intervals: the data is stale."""

    signals: Annotated[list[Name], Field(min_length=1)]
    intervals: Annotated[int, Field(ge=1)] = 5
    expected_interval: timedelta | None = Field(
        None, description="overrides the signals' expected_interval"
    )

    _duration = _durations("expected_interval")


class LimitsSpec(Strict):
    """Alarm limits on a signal, each its own alarm (``<name>:hi``, ``<name>:hihi``, ...)."""

    hihi: float | None = None
    hi: float | None = None
    lo: float | None = None
    lolo: float | None = None

    def levels(self) -> dict[str, float]:
        """The limits that are set, by level."""
        return {level: value for level, value in self.model_dump().items() if value is not None}


class AlarmSpec(Strict):
    """An alarm: on a signal's limits, on a detector's score, or on stale data (ISA-18.2).

    Exactly one of ``limits`` (with ``signal``), ``analytics`` (a detector binding: its score above
    the binding's threshold) or ``stale`` is given.
    """

    name: Name
    priority: Priority = "medium"
    priorities: dict[Literal["hihi", "hi", "lo", "lolo"], Priority] = Field(
        default_factory=dict, description="priority per limit level, over `priority`"
    )
    description: str = ""
    signal: Name | None = None
    limits: LimitsSpec | None = None
    analytics: Name | None = None
    stale: StaleSpec | None = None
    deadband: Annotated[float, Field(ge=0)] = 0.0
    on_delay: timedelta = timedelta(0)
    off_delay: timedelta = timedelta(0)
    assets: list[str] | None = Field(
        None, description="site-level alarms only: the assets (names) it applies to"
    )

    _duration = _durations("on_delay", "off_delay")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [
            name
            for name, value in (
                ("limits", self.limits),
                ("analytics", self.analytics),
                ("stale", self.stale),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of limits (with signal), analytics or stale")
        if self.limits is not None and self.signal is None:
            raise ValueError("a limit alarm names its signal")
        if self.limits is not None and not self.limits.levels():
            raise ValueError("limits needs at least one of hihi, hi, lo, lolo")
        return self


class CostsSpec(Strict):
    """What maintenance, failure and downtime of one asset of the type cost, in site currency."""

    planned_maintenance: Annotated[float, Field(ge=0)] = 0.0
    failure: Annotated[float, Field(ge=0, description="repair after a failure")] = 0.0
    downtime_per_hour: Annotated[float, Field(ge=0)] = 0.0
    planned_downtime_hours: Annotated[float, Field(ge=0)] = 0.0
    failure_downtime_hours: Annotated[float, Field(ge=0)] = 0.0

    def planned(self) -> float:
        """Cost of one planned maintenance, downtime included."""
        return self.planned_maintenance + self.downtime_per_hour * self.planned_downtime_hours

    def unplanned(self) -> float:
        """Cost of one failure, downtime included."""
        return self.failure + self.downtime_per_hour * self.failure_downtime_hours


def _signal_shorthand(value: Any) -> Any:
    """``vibration: mm/s`` is short for ``vibration: {unit: mm/s}``."""
    if isinstance(value, dict):
        return {
            key: {"unit": spec or ""} if isinstance(spec, str) or spec is None else spec
            for key, spec in value.items()
        }
    return value


class AssetType(Strict):
    """The template every asset of a type follows."""

    description: str = ""
    signals: dict[Name, SignalSpec] = Field(default_factory=dict)
    setpoints: dict[Name, SetpointSpec] = Field(default_factory=dict)
    attributes: dict[Name, AttributeSpec] = Field(default_factory=dict)
    analytics: list[BindingSpec] = Field(default_factory=list)
    alarms: list[AlarmSpec] = Field(default_factory=list)
    costs: CostsSpec = CostsSpec()

    @field_validator("signals", "attributes", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _signal_shorthand(value)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        for what, names in (
            ("analytics", [binding.name for binding in self.analytics]),
            ("alarms", [alarm.name for alarm in self.alarms]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(repeated)}")
        clash = sorted(set(self.signals) & set(self.setpoints))
        if clash:
            raise ValueError(f"{', '.join(clash)}: both a signal and a set-point")
        return self
