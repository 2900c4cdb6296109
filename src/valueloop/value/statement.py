"""A contract's savings statement for a period, computed from the ledger and signed.

The statement rests only on the ledger: for each measured action the contract covers, the latest
revision of its measurement (:mod:`.verified`), and of it the months that fall in the period. A
line's saving in the period is the sum of those months; its uncertainty is Guideline 14's for
that part of the reporting window (the plan's baseline statistics, the months' adjusted baseline
and measured intervals), and the lines' uncertainties, from independent baselines, add in
quadrature. Only verified lines earn money; an unverified line (one whose reporting window meets
the period, even when no saving could be measured) is shown with its reasons and left out of the
money due.

The statement names the ledger's head (sequence number and hash) when it was computed and
whether the chain verified, and is signed: HMAC-SHA256 over its canonical JSON (sorted keys, no
spaces) under a key derived from the site's audit key for the purpose ``statement``
(:meth:`~valueloop.store.seal.Seal.sign`). :func:`verify_statement` checks a signature.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from valueloop.config.value import ContractSpec, ValueSpec
from valueloop.errors import ConfigError
from valueloop.store.appendonly import seal_of
from valueloop.store.seal import Seal, canonical
from valueloop.value.contracts import Period, money_due, parse_period, within_contract
from valueloop.value.ledger import Ledger
from valueloop.value.measure import period_uncertainty
from valueloop.value.plans import MeasurementPlan, PlanBook
from valueloop.value.verified import RecordedMeasurement, latest_measurement

if TYPE_CHECKING:
    from valueloop.site import Site

PURPOSE = "statement"
"""What the signing key is derived for."""
_FIGURES = ("counterfactual", "adjustment", "observed", "saving", "rows")


def covers(contract: ContractSpec, plan: MeasurementPlan) -> bool:
    """Whether ``contract`` covers the action ``plan`` measures (no scope named: every one)."""
    if not (contract.kpis or contract.assets or contract.orders):
        return True
    return (
        plan.kpi in contract.kpis
        or plan.asset in contract.assets
        or plan.order_id in contract.orders
    )


def _overlaps(plan: MeasurementPlan, period: Period) -> bool:
    """Whether the plan's reporting window (in its local days) meets ``period``."""
    zone = ZoneInfo(plan.timezone)
    first = plan.reporting_start.astimezone(zone).date()
    last = plan.reporting_end.astimezone(zone).date()
    return first < period.end and last > period.start


def _line(recorded: RecordedMeasurement, period: Period) -> dict[str, Any]:
    plan = recorded.plan
    confidence = float(recorded.assumptions["confidence"])
    months = {m: f for m, f in recorded.months.items() if m in period.months}
    totals = {name: sum(f.get(name, 0.0) for f in months.values()) for name in _FIGURES}
    statistics = recorded.assumptions.get("statistics")
    uncertainty = math.nan
    if statistics is not None and months:
        uncertainty = period_uncertainty(statistics, int(totals["rows"]), confidence)
    return {
        "plan_id": plan.plan_id,
        "order_id": plan.order_id,
        "asset": plan.asset,
        "action": plan.action,
        "kpi": plan.kpi,
        "option": plan.option,
        "meter": plan.meter,
        "unit": plan.unit,
        "baseline": plan.baseline,
        "executed_at": plan.executed_at.isoformat(),
        "reference": [plan.reference_start.isoformat(), plan.reference_end.isoformat()],
        "reporting": [plan.reporting_start.isoformat(), plan.reporting_end.isoformat()],
        "run_id": recorded.run_id,
        "revision": recorded.revision,
        "verified": recorded.verified,
        "reasons": recorded.reasons,
        "statistics": statistics,
        "model": recorded.assumptions.get("model"),
        "adjustments": recorded.assumptions.get("adjustments", []),
        "expected_value": recorded.figures.get("expected_value", 0.0),
        "price": plan.price,
        "months": {m: {n: f.get(n, 0.0) for n in _FIGURES} for m, f in sorted(months.items())},
        **totals,
        "uncertainty": uncertainty,
        "money": totals["saving"] * plan.price,
        "money_uncertainty": uncertainty * plan.price,
        "entries": recorded.entries,
    }


@dataclass(frozen=True)
class SignedStatement:
    """A statement's content and its signature (hexadecimal HMAC-SHA256)."""

    content: dict[str, Any]
    signature: str


def build_statement(
    contract: ContractSpec,
    period: Period,
    plans: PlanBook,
    ledger: Ledger,
    *,
    site: str,
    currency: str,
    confidence: float,
    at: datetime,
) -> dict[str, Any]:
    """The statement of ``contract`` for ``period``, as plain values (see the module docstring).

    ``at`` is when it is computed (the caller's clock).
    """
    within_contract(contract, period)
    lines = []
    for plan, _ in plans.all():
        if not covers(contract, plan):
            continue
        recorded = latest_measurement(ledger, plan.plan_id)
        if recorded is None:
            continue
        line = _line(recorded, period)
        if line["months"] or (not recorded.verified and _overlaps(plan, period)):
            lines.append(line)
    verified = [line for line in lines if line["verified"]]
    saving = sum(line["saving"] for line in verified)
    money = sum(line["money"] for line in verified)
    uncertainty = math.sqrt(sum(line["uncertainty"] ** 2 for line in verified))
    money_uncertainty = math.sqrt(sum(line["money_uncertainty"] ** 2 for line in verified))
    price = money / saving if saving else (verified[0]["price"] if verified else 0.0)
    chain = ledger.verify()
    head_seq, head_hash = ledger.head()
    by_month: dict[str, float] = {month: 0.0 for month in period.months}
    for line in verified:
        for month, figures in line["months"].items():
            by_month[month] += figures["saving"]
    return {
        "site": site,
        "currency": currency,
        "contract": contract.model_dump(mode="json"),
        "period": {"label": period.label, "months": list(period.months)},
        "computed_at": at.isoformat(),
        "confidence": confidence,
        "lines": lines,
        "unverified": [line["plan_id"] for line in lines if not line["verified"]],
        "saving": saving,
        "uncertainty": uncertainty,
        "money": money,
        "money_uncertainty": money_uncertainty,
        "expected_value": sum(line["expected_value"] for line in lines),
        "savings_by_month": by_month,
        "due": [
            {"payer": d.payer, "payee": d.payee, "amount": d.amount, "basis": d.basis}
            for d in money_due(contract, saving, money, price, currency)
        ],
        "ledger": {"head_seq": head_seq, "head_hash": head_hash, "intact": chain.ok},
    }


def sign_statement(seal: Seal, content: dict[str, Any]) -> SignedStatement:
    """``content`` signed under the site key (see the module docstring)."""
    return SignedStatement(content, seal.sign(PURPOSE, canonical(content)))


def verify_statement(seal: Seal, statement: SignedStatement) -> bool:
    """Whether ``statement``'s signature is the site key's over its content."""
    expected = seal.sign(PURPOSE, canonical(statement.content))
    return hmac.compare_digest(expected, statement.signature)


class UnknownContract(ConfigError):
    """The site names no contract of that id."""


def contract_statement(
    spec: ValueSpec,
    contract_id: str,
    period: str,
    *,
    plans: PlanBook,
    ledger: Ledger,
    seal: Seal,
    site: str,
    currency: str,
    at: datetime,
) -> SignedStatement:
    """The signed statement of contract ``contract_id`` of ``spec`` for ``period`` (``2026-Q3``).

    Raises :class:`UnknownContract` for a contract the site does not name and
    :class:`~valueloop.errors.ConfigError` for a period that is malformed or outside its term.
    """
    contract = spec.contract(contract_id)
    if contract is None:
        known = ", ".join(c.id for c in spec.contracts) or "none"
        raise UnknownContract(f"no contract {contract_id!r}; the site's contracts: {known}")
    content = build_statement(
        contract,
        parse_period(period),
        plans,
        ledger,
        site=site,
        currency=currency,
        confidence=spec.measurement.confidence,
        at=at,
    )
    return sign_statement(seal, content)


def site_statement(site: Site, contract_id: str, period: str, at: datetime) -> SignedStatement:
    """:func:`contract_statement` of a site's contract, from its plans and ledger, signed with its
    key: what the API and ``valueloop statement`` give."""
    return contract_statement(
        site.config.value,
        contract_id,
        period,
        plans=PlanBook(site.store),
        ledger=site.ledger,
        seal=seal_of(site.store),
        site=site.model.name,
        currency=site.config.site.currency,
        at=at,
    )
