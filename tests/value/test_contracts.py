"""Contract periods, the money each kind of contract owes, and the value section's checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.value.mv_site import SITE

from valueloop.config import load_site
from valueloop.config.value import ContractSpec, ValueSpec
from valueloop.errors import ConfigError
from valueloop.value.contracts import money_due, parse_period, within_contract


def contract(kind: str, **terms: Any) -> ContractSpec:
    return ContractSpec(
        id="C-1",
        kind=kind,
        provider="ESCO",
        client="Plant",  # type: ignore[arg-type]
        start=date(2026, 1, 1),
        end=date(2027, 1, 1),
        **terms,
    )


def test_a_period_names_whole_months() -> None:
    quarter = parse_period("2026-Q3")
    assert quarter.months == ("2026-07", "2026-08", "2026-09")
    assert (quarter.start, quarter.end) == (date(2026, 7, 1), date(2026, 10, 1))
    assert parse_period("2026-12").end == date(2027, 1, 1)
    assert len(parse_period("2026").months) == 12
    for bad in ("2026-Q5", "2026-13", "Q3-2026", ""):
        with pytest.raises(ConfigError):
            parse_period(bad)


def test_a_period_outside_the_term_is_refused() -> None:
    within_contract(contract("shared_savings", provider_share=0.4), parse_period("2026-Q4"))
    with pytest.raises(ConfigError, match="outside contract C-1"):
        within_contract(contract("shared_savings", provider_share=0.4), parse_period("2027-Q1"))
    with pytest.raises(ConfigError, match="settled by quarter; 2026-07 is not one"):
        within_contract(contract("shared_savings", provider_share=0.4), parse_period("2026-07"))


def test_a_guarantee_owes_the_shortfall_and_the_client_the_fee() -> None:
    terms = contract("guaranteed_savings", guaranteed=1000.0, fee=50.0, shortfall_price=0.3)
    fee, shortfall = money_due(terms, 800.0, 160.0, 0.2, "EUR")
    assert (fee.payer, fee.payee, fee.amount) == ("Plant", "ESCO", 50.0)
    assert (shortfall.payer, shortfall.payee) == ("ESCO", "Plant")
    assert shortfall.amount == pytest.approx(200.0 * 0.3)
    _, met = money_due(terms, 1200.0, 240.0, 0.2, "EUR")
    assert met.amount == 0.0
    no_price = contract("guaranteed_savings", guaranteed=1000.0)
    (tariff_shortfall,) = money_due(no_price, 900.0, 180.0, 0.2, "EUR")
    assert tariff_shortfall.amount == pytest.approx(100.0 * 0.2)


def test_shared_savings_and_pay_per_outcome_pay_nothing_for_a_loss() -> None:
    (share,) = money_due(contract("shared_savings", provider_share=0.4), 500, 100.0, 0.2, "EUR")
    assert (share.payer, share.payee, share.amount) == ("Plant", "ESCO", pytest.approx(40.0))
    (loss,) = money_due(contract("shared_savings", provider_share=0.4), -500, -100.0, 0.2, "EUR")
    assert loss.amount == 0.0
    (outcome,) = money_due(contract("pay_per_outcome", price=0.05), 2000.0, 400.0, 0.2, "EUR")
    assert outcome.amount == pytest.approx(100.0)


def test_a_contract_states_the_terms_of_its_kind() -> None:
    with pytest.raises(ValidationError, match="gives provider_share"):
        contract("shared_savings")
    with pytest.raises(ValidationError, match="ends after it starts"):
        ContractSpec(
            id="C",
            kind="pay_per_outcome",
            provider="a",
            client="b",
            price=1.0,
            start=date(2026, 1, 1),
            end=date(2026, 1, 1),
        )
    with pytest.raises(ValidationError, match="unknown KPIs: nope"):
        ValueSpec(contracts=[contract("pay_per_outcome", price=1.0, kpis=["nope"])])


def test_the_site_check_names_unknown_assets_signals_and_tariffs(tmp_path: Path) -> None:
    broken = (
        SITE.replace("signal: energy\n", "signal: power\n")
        .replace("tariff: electricity", "tariff: gas")
        .replace("{asset: hall, signal: outdoor_temperature}", "{asset: roof, signal: t}")
    )
    path = tmp_path / "site.yaml"
    path.write_text(broken)
    with pytest.raises(ConfigError) as found:
        load_site(path)
    message = str(found.value)
    assert "value.kpis.0.signal: asset hall (building) has no signal 'power'" in message
    assert "value.kpis.0.tariff: unknown tariff 'gas'" in message
    assert "value.kpis.0.regressors.temperature.asset: unknown asset 'roof'" in message
