"""The ``value:`` section of ``site.yaml``: value KPIs, measurement defaults and contracts.

A value KPI is a metered series (energy, power, fuel or output) whose savings are measured and
verified: every executed action on an asset it covers gets a measurement plan (IPMVP option B when
the KPI meters the asset itself, option C when it meters the whole site), with a reference window
before the action, a reporting window after it, the regressors its baseline reads and the tariff
that turns its unit into money. A contract names the KPIs, assets or actions it covers, its kind
(guaranteed savings, shared savings, pay per outcome), its prices and its periods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from valueloop.config.types import AssetType, Name, Strict
from valueloop.config.yamlio import Problem, duration_field

Scope = Literal["asset", "site"]
Direction = Literal["consumption", "output"]
Interval = Literal["daily", "hourly"]
ContractKind = Literal["guaranteed_savings", "shared_savings", "pay_per_outcome"]
ContractPeriod = Literal["month", "quarter", "year"]


AssetName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
"""An asset's name: the last segment of its path (``machine-2``)."""


class SeriesRef(Strict):
    """A signal of an asset: ``{asset: meter1, signal: temperature}``."""

    asset: AssetName
    signal: Name


class BaselineChoice(Strict):
    """The baseline kind (entry point ``valueloop.baselines``) and its hyper-parameters."""

    kind: str = "changepoint_daily"
    params: dict[str, Any] = Field(default_factory=dict)


class KpiSpec(Strict):
    """A value KPI: the meter whose readings verify the actions on the assets it covers.

    ``asset`` and ``signal`` name the metered series, read as the quantity used per reading
    (kWh per reading for an energy meter); the engine sums it per ``interval`` and averages each
    regressor per interval. ``scope`` ``asset`` (IPMVP option B) verifies actions on ``covers``
    (default: the metered asset); ``site`` (option C) verifies actions on every asset. A
    ``regressors`` key is the column the baseline reads (``temperature`` for a change-point
    baseline), its value the series it comes from. ``tariff`` names a tariff of the site.
    ``direction`` ``consumption`` (energy, fuel used) saves when the meter reads less than the
    baseline; ``output`` (energy produced, units made) when it reads more.
    """

    name: Name
    asset: AssetName
    signal: Name
    scope: Scope = "asset"
    covers: list[AssetName] = Field(default_factory=list)
    interval: Interval = "daily"
    regressors: dict[Name, SeriesRef] = Field(default_factory=dict)
    baseline: BaselineChoice = BaselineChoice()
    tariff: Name | None = None
    direction: Direction = "consumption"

    @property
    def option(self) -> Literal["B", "C"]:
        """IPMVP option: B for a metered asset, C for the whole site."""
        return "C" if self.scope == "site" else "B"

    def verifies(self, asset: str) -> bool:
        """Whether an action on ``asset`` is verified by this KPI."""
        if self.scope == "site":
            return True
        return asset in (self.covers or [self.asset])


class MeasurementSpec(Strict):
    """Measurement defaults: the windows around an action and when a saving counts as verified.

    The reference window ends where the action's day (or hour) begins; the reporting window
    starts at the next interval after it. A reporting window cut shorter than ``min_reporting``
    (the action rolled back) or with fewer than ``min_coverage`` of its intervals measured (a
    meter or a regressor with gaps) makes the saving unverified, and the statement says why.
    ``confidence`` (0.68 or 0.9) is that of the intervals statements and money show.
    """

    reference: timedelta = timedelta(days=365)
    reporting: timedelta = timedelta(days=90)
    min_reporting: timedelta = timedelta(days=30)
    min_coverage: Annotated[float, Field(gt=0, le=1)] = 0.9
    confidence: float = 0.9

    @field_validator("reference", "reporting", "min_reporting", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)

    @field_validator("confidence")
    @classmethod
    def _level(cls, value: float) -> float:
        if value not in (0.68, 0.9):
            raise ValueError("the savings uncertainty is stated at 0.68 or 0.9 confidence")
        return value


class ContractSpec(Strict):
    """A savings contract between a ``provider`` (who acted) and a ``client`` (who pays).

    It covers the measured actions of its ``kpis``, on its ``assets`` or named in its ``orders``
    (any of them; none: every measured action), from ``start`` to ``end`` in ``period`` steps.

    - ``guaranteed_savings``: the provider guarantees ``guaranteed`` units saved per period; the
      client pays ``fee`` per period, the provider pays the shortfall at ``shortfall_price`` per
      unit (default: the KPI's tariff).
    - ``shared_savings``: the provider receives ``provider_share`` of the money saved.
    - ``pay_per_outcome``: the client pays ``price`` per verified unit of outcome (kWh avoided,
      or, on an output KPI, each unit produced beyond the baseline).

    Money is in the site's currency; only verified savings count.
    """

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: ContractKind
    provider: str
    client: str
    kpis: list[Name] = Field(default_factory=list)
    assets: list[AssetName] = Field(default_factory=list)
    orders: list[str] = Field(default_factory=list)
    start: date
    end: date
    period: ContractPeriod = "quarter"
    guaranteed: Annotated[float, Field(ge=0)] | None = None
    shortfall_price: Annotated[float, Field(ge=0)] | None = None
    fee: Annotated[float, Field(ge=0)] = 0.0
    provider_share: Annotated[float, Field(ge=0, le=1)] | None = None
    price: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _terms(self) -> Self:
        if self.end <= self.start:
            raise ValueError("a contract ends after it starts")
        needs = {
            "guaranteed_savings": "guaranteed",
            "shared_savings": "provider_share",
            "pay_per_outcome": "price",
        }[self.kind]
        if getattr(self, needs) is None:
            raise ValueError(f"a {self.kind} contract gives {needs}")
        return self


class ValueSpec(Strict):
    """Value KPIs, measurement defaults and contracts."""

    measurement: MeasurementSpec = MeasurementSpec()
    kpis: list[KpiSpec] = Field(default_factory=list)
    contracts: list[ContractSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> Self:
        kpis = [kpi.name for kpi in self.kpis]
        contracts = [contract.id for contract in self.contracts]
        for what, names in (("KPI", kpis), ("contract", contracts)):
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{what} names must be unique: {', '.join(twice)}")
        for contract in self.contracts:
            unknown = sorted(set(contract.kpis) - set(kpis))
            if unknown:
                raise ValueError(f"contract {contract.id} names unknown KPIs: {', '.join(unknown)}")
        return self

    def kpi(self, name: str) -> KpiSpec:
        """The KPI called ``name`` (KeyError if none)."""
        return next(kpi for kpi in self.kpis if kpi.name == name)

    def contract(self, contract_id: str) -> ContractSpec | None:
        """The contract ``contract_id``, or None."""
        return next((c for c in self.contracts if c.id == contract_id), None)


def value_problems(
    value: ValueSpec,
    asset_types: Mapping[str, str],
    types: Mapping[str, AssetType],
    tariffs: Mapping[str, Any],
) -> Iterator[Problem]:
    """References of the value section to unknown assets, signals or tariffs.

    ``asset_types`` maps each asset name to its type's name.
    """

    def series(where: tuple[str | int, ...], ref: KpiSpec | SeriesRef) -> Iterator[Problem]:
        kind = asset_types.get(ref.asset)
        if kind is None:
            yield (*where, "asset"), f"unknown asset {ref.asset!r}"
        elif kind in types and ref.signal not in types[kind].signals:
            yield (*where, "signal"), f"asset {ref.asset} ({kind}) has no signal {ref.signal!r}"

    for index, kpi in enumerate(value.kpis):
        where: tuple[str | int, ...] = ("value", "kpis", index)
        yield from series(where, kpi)
        for column, ref in kpi.regressors.items():
            yield from series((*where, "regressors", column), ref)
        for asset in kpi.covers:
            if asset not in asset_types:
                yield (*where, "covers"), f"unknown asset {asset!r}"
        if kpi.tariff is not None and kpi.tariff not in tariffs:
            yield (*where, "tariff"), f"unknown tariff {kpi.tariff!r}"
    for index, contract in enumerate(value.contracts):
        for asset in contract.assets:
            if asset not in asset_types:
                yield ("value", "contracts", index, "assets"), f"unknown asset {asset!r}"
