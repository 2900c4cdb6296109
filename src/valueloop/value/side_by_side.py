"""Expected and verified value side by side: per action, per asset, per contract, per period.

Every measurement plan (one executed action on one value KPI) is read with the latest revision of
its measurement in the ledger (:mod:`.verified`): the value its proposal expected, in money, and,
once its reporting window has closed, the saving verified in the KPI's unit and in money with
their uncertainty. An asset's or a contract's totals add the expected value of each work order
once, the verified money of its verified savings only (an unverified saving earns nothing, as in
a statement), and the money uncertainties in quadrature (the baselines are independent).

A contract's statement periods are its months, quarters or years within its term; a period has a
statement when a measured action the contract covers has verified months in it, or an unverified
action's reporting window meets it (the statement then says why that action is unverified).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from valueloop.config.value import ContractSpec
from valueloop.errors import ConfigError
from valueloop.value.contracts import Period, parse_period, within_contract
from valueloop.value.ledger import Ledger
from valueloop.value.plans import MeasurementPlan, PlanBook
from valueloop.value.statement import covers
from valueloop.value.verified import latest_measurement


def _finite(value: float | None) -> float | None:
    """``value``, or None when it is missing or not a finite number."""
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class ActionValue:
    """One measured action (a plan) with its expected and verified value.

    ``saving`` and its uncertainties are in ``unit``; ``money`` and ``money_uncertainty`` (at
    ``confidence``) in ``currency``; each is None until measured (or when nothing could be
    measured). ``months`` maps each measured month to its saving (unit) for the statements.
    """

    plan: MeasurementPlan
    status: str
    expected_value: float
    revision: int | None = None
    verified: bool | None = None
    reasons: tuple[str, ...] = ()
    confidence: float | None = None
    saving: float | None = None
    uncertainty_68: float | None = None
    uncertainty_90: float | None = None
    money: float | None = None
    money_uncertainty: float | None = None
    months: dict[str, float] = field(default_factory=dict)


def action_values(plans: PlanBook, ledger: Ledger, asset: str | None = None) -> list[ActionValue]:
    """Every plan of ``plans`` (of ``asset`` only, when given) with its latest measurement in
    ``ledger``, by reporting end."""
    values = []
    for plan, status in plans.all():
        if asset is not None and plan.asset != asset:
            continue
        recorded = latest_measurement(ledger, plan.plan_id)
        if recorded is None:
            values.append(ActionValue(plan, status.value, plan.expected_value))
            continue
        figures = recorded.figures
        values.append(
            ActionValue(
                plan,
                status.value,
                figures.get("expected_value", plan.expected_value),
                revision=recorded.revision,
                verified=recorded.verified,
                reasons=tuple(recorded.reasons),
                confidence=float(recorded.assumptions["confidence"]),
                saving=_finite(figures.get("saving")),
                uncertainty_68=_finite(figures.get("uncertainty_68")),
                uncertainty_90=_finite(figures.get("uncertainty_90")),
                money=_finite(figures.get("money")),
                money_uncertainty=_finite(figures.get("money_uncertainty")),
                months={m: f.get("saving", 0.0) for m, f in recorded.months.items()},
            )
        )
    return values


@dataclass(frozen=True)
class ValueTotal:
    """The actions of one asset or contract: how many, and their expected and verified value.

    ``expected_value`` adds each work order's expected value once; ``verified_value`` the money of
    the verified savings; ``uncertainty`` their money uncertainties in quadrature.
    """

    name: str
    actions: int
    measured: int
    verified: int
    expected_value: float
    verified_value: float
    uncertainty: float


def total(name: str, values: Sequence[ActionValue]) -> ValueTotal:
    """The totals of ``values`` under ``name``; see :class:`ValueTotal`."""
    expected = {value.plan.order_id: value.expected_value for value in values}
    verified = [value for value in values if value.verified]
    return ValueTotal(
        name=name,
        actions=len(expected),
        measured=sum(value.revision is not None for value in values),
        verified=len(verified),
        expected_value=sum(expected.values()),
        verified_value=sum(value.money or 0.0 for value in verified),
        uncertainty=math.sqrt(sum((value.money_uncertainty or 0.0) ** 2 for value in verified)),
    )


def totals_by(
    values: Iterable[ActionValue], names: Callable[[ActionValue], Iterable[str]]
) -> list[ValueTotal]:
    """The totals of ``values`` under each name ``names`` gives a value, by name."""
    groups: dict[str, list[ActionValue]] = {}
    for value in values:
        for name in names(value):
            groups.setdefault(name, []).append(value)
    return [total(name, groups[name]) for name in sorted(groups)]


def by_asset(values: Iterable[ActionValue]) -> list[ValueTotal]:
    """The totals of each asset acted on."""
    return totals_by(values, lambda value: [value.plan.asset])


def by_contract(
    contracts: Sequence[ContractSpec], values: Sequence[ActionValue]
) -> list[ValueTotal]:
    """The totals of each contract (every contract, the ones covering nothing with zeros)."""
    return [
        total(contract.id, [value for value in values if covers(contract, value.plan)])
        for contract in contracts
    ]


def contract_periods(contract: ContractSpec) -> list[Period]:
    """The contract's settlement periods (months, quarters or years) within its term, in order."""
    parts = {"month": [f"{m:02d}" for m in range(1, 13)], "quarter": ["Q1", "Q2", "Q3", "Q4"]}
    periods = []
    for year in range(contract.start.year, contract.end.year + 1):
        for part in parts.get(contract.period, [""]):
            period = parse_period(f"{year}-{part}" if part else str(year))
            try:
                within_contract(contract, period)
            except ConfigError:
                continue
            periods.append(period)
    return periods


def reporting_months(plan: MeasurementPlan) -> set[str]:
    """The months (``YYYY-MM``, local time) the plan's reporting window meets."""
    zone = ZoneInfo(plan.timezone)
    day = plan.reporting_start.astimezone(zone).date()
    last = (plan.reporting_end.astimezone(zone) - timedelta(microseconds=1)).date()
    months = set()
    while day <= last:
        months.add(f"{day.year:04d}-{day.month:02d}")
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


@dataclass(frozen=True)
class StatementPeriod:
    """A contract period with a statement: its actions, verified ones, and their verified value
    (the money of the verified savings of its months)."""

    label: str
    start: date
    end: date
    actions: int
    verified: int
    verified_value: float


def statement_periods(
    contract: ContractSpec, values: Sequence[ActionValue]
) -> list[StatementPeriod]:
    """The periods of ``contract`` that have a statement (see the module docstring), in order."""
    covered = [value for value in values if covers(contract, value.plan) and value.revision]
    found = []
    for period in contract_periods(contract):
        months = set(period.months)
        lines = [
            value
            for value in covered
            if months & set(value.months)
            or (not value.verified and months & reporting_months(value.plan))
        ]
        if not lines:
            continue
        verified = [value for value in lines if value.verified]
        found.append(
            StatementPeriod(
                label=period.label,
                start=period.start,
                end=period.end,
                actions=len(lines),
                verified=len(verified),
                verified_value=sum(
                    saving * value.plan.price
                    for value in verified
                    for month, saving in value.months.items()
                    if month in months
                ),
            )
        )
    return found
