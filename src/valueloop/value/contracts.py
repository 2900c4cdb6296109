"""Contract periods and the money each party owes on a period's verified saving.

A period is written ``2026-Q3``, ``2026-07`` or ``2026`` and covers whole calendar months in the
site's time zone. What is due follows the contract's kind (:class:`~valueloop.config.value.
ContractSpec`): a guaranteed-savings contract owes the client the shortfall below the guarantee,
and the client the provider's fee; a shared-savings contract owes the provider its share of the
money saved; a pay-per-outcome contract owes the provider its price per verified unit. A saving
below zero earns nothing under the latter two: the provider bears a loss, it is not paid for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from valueloop.config.value import ContractSpec
from valueloop.errors import ConfigError

_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|\d{2}))?$")


@dataclass(frozen=True)
class Period:
    """Whole calendar months: ``label`` and its months as ``YYYY-MM``, in order."""

    label: str
    months: tuple[str, ...]

    @property
    def start(self) -> date:
        """The first day of the period."""
        return date.fromisoformat(f"{self.months[0]}-01")

    @property
    def end(self) -> date:
        """The first day after the period."""
        year, month = (int(part) for part in self.months[-1].split("-"))
        return date(year + month // 12, month % 12 + 1, 1)


def parse_period(text: str) -> Period:
    """The period ``text`` names: ``2026-Q3``, ``2026-07`` or ``2026`` (ConfigError otherwise)."""
    match = _PERIOD.match(text.strip())
    if match is None:
        raise ConfigError(f"a period is written 2026-Q3, 2026-07 or 2026, not {text!r}")
    year, part = int(match.group(1)), match.group(2)
    if part is None:
        first, count = 1, 12
    elif part.startswith("Q"):
        first, count = 3 * (int(part[1]) - 1) + 1, 3
    else:
        first, count = int(part), 1
        if not 1 <= first <= 12:
            raise ConfigError(f"no month {part} in period {text!r}")
    months = tuple(f"{year:04d}-{month:02d}" for month in range(first, first + count))
    return Period(label=text.strip(), months=months)


_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def within_contract(contract: ContractSpec, period: Period) -> None:
    """Refuse (ConfigError) a period that is not one of the contract's periods (a month, a
    quarter or a year, as it says) or does not lie within its term."""
    if len(period.months) != _MONTHS[contract.period]:
        raise ConfigError(
            f"contract {contract.id} is settled by {contract.period}; {period.label} is not one"
        )
    if period.start < contract.start or period.end > contract.end:
        raise ConfigError(
            f"period {period.label} ({period.start} to {period.end}) is outside contract "
            f"{contract.id}'s term ({contract.start} to {contract.end})"
        )


@dataclass(frozen=True)
class Due:
    """An amount ``payer`` owes ``payee`` for the period, and what it is for."""

    payer: str
    payee: str
    amount: float
    basis: str


def money_due(
    contract: ContractSpec, saving: float, money: float, price: float, currency: str
) -> list[Due]:
    """What each party owes on a period's verified ``saving`` (units) worth ``money``.

    ``price`` is the tariff's price per unit, used for a shortfall when the contract sets none.
    """
    provider, client = contract.provider, contract.client
    if contract.kind == "guaranteed_savings":
        assert contract.guaranteed is not None
        dues = []
        if contract.fee:
            dues.append(Due(client, provider, contract.fee, "fee for the period"))
        shortfall = max(contract.guaranteed - saving, 0.0)
        rate = price if contract.shortfall_price is None else contract.shortfall_price
        dues.append(
            Due(
                provider,
                client,
                shortfall * rate,
                f"shortfall of {shortfall:,.2f} units below the {contract.guaranteed:,.2f} "
                f"guaranteed, at {rate:,.4f} {currency} per unit",
            )
        )
        return dues
    if contract.kind == "shared_savings":
        assert contract.provider_share is not None
        share = contract.provider_share
        return [
            Due(
                client,
                provider,
                share * max(money, 0.0),
                f"{share:.0%} of the {max(money, 0.0):,.2f} {currency} saved",
            )
        ]
    assert contract.price is not None
    return [
        Due(
            client,
            provider,
            contract.price * max(saving, 0.0),
            f"{max(saving, 0.0):,.2f} verified units at {contract.price:,.4f} {currency} each",
        )
    ]
