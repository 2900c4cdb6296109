"""The whole chain of a verified saving, on opendsm's sample meter with its injected 10 % saving.

Executed set-point change -> measurement plan -> the engine, on a simulated clock, closes the
reporting window -> a ledger entry with the verified saving, its money and uncertainty beside the
expected value -> an adjustment recorded through the API and applied (a second revision) -> the
contract's statement as HTML and PDF -> the PDF read back with pdftotext holds the ledger's
figures. The data and the injected saving are described in :mod:`tests.value.mv_site`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.value.mv_site import (
    EXECUTED_AT,
    EXPECTED_VALUE,
    INJECTED_FRACTION,
    TARIFF,
    executed_change,
    open_mv_site,
)
from typer.testing import CliRunner

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.cli.app import app
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.site import Site
from valueloop.store.appendonly import seal_of
from valueloop.value.plans import PlanBook
from valueloop.value.statement import SignedStatement, contract_statement, verify_statement
from valueloop.value.statement_render import figure, statement_html, statement_pdf
from valueloop.value.verified import RecordedMeasurement, latest_measurement

ADDED_LOAD = 6.0
"""kWh a day of load added in February (an injected non-routine event)."""
FEBRUARY = (datetime(2027, 2, 1, 6, tzinfo=UTC), datetime(2027, 3, 1, 6, tzinfo=UTC))


@dataclass
class Chain:
    site: Site
    order_id: str
    plan_id: str
    first: RecordedMeasurement
    second: RecordedMeasurement
    adjustment: dict[str, Any]
    tokens: dict[str, str]
    client: TestClient


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    site = open_mv_site(tmp_path_factory.mktemp("mv"))
    order_id = executed_change(site)
    clock = SimulatedClock(EXECUTED_AT)
    closes = EXECUTED_AT + timedelta(days=92)
    open_engine(site, clock).run_until(closes, step=timedelta(days=30))
    (plan, _), *others = PlanBook(site.store).all()
    assert not others
    first = latest_measurement(site.ledger, plan.plan_id)
    assert first is not None
    tokens = {
        role: issue_token(site.store, name, role)
        for name, role in (("vera", "viewer"), ("ann", "approver"))
    }
    with TestClient(create_app(site)) as client:
        answer = client.post(
            f"/api/measurements/{plan.plan_id}/adjustments",
            headers={"Authorization": f"Bearer {tokens['approver']}"},
            json={
                "kind": "added_load",
                "start": FEBRUARY[0].isoformat(),
                "end": FEBRUARY[1].isoformat(),
                "amount": ADDED_LOAD,
                "reason": "a server room moved into the hall in February",
            },
        )
        assert answer.status_code == 201, answer.text
        open_engine(site, clock).run_until(closes + timedelta(days=1), step=timedelta(days=1))
        second = latest_measurement(site.ledger, plan.plan_id)
        assert second is not None
        yield Chain(site, order_id, plan.plan_id, first, second, answer.json(), tokens, client)
    site.close()


def test_an_executed_change_gets_a_plan_in_its_audit_trail(chain: Chain) -> None:
    plan = chain.first.plan
    assert plan.order_id == chain.order_id and plan.option == "B"
    assert plan.reference_end == datetime(2027, 1, 4, 6, tzinfo=UTC)  # local midnight, Chicago
    assert plan.reporting_start == plan.reference_end + timedelta(days=1)
    assert (plan.reporting_end.date() - plan.reporting_start.date()).days == 90  # local days
    assert plan.regressors == {"temperature": "hall/outdoor_temperature"}
    trail = chain.site.work_orders.audit_trail(chain.order_id).to_pylist()
    assert [row["action"] for row in trail][-1] == "measurement_plan"


def test_the_ledger_holds_the_verified_saving_beside_the_expected_value(chain: Chain) -> None:
    figures = chain.first.figures
    assert chain.first.verified and chain.first.reasons == []
    assert figures["expected_value"] == EXPECTED_VALUE
    assert figures["money"] == pytest.approx(figures["saving"] * TARIFF)
    assert figures["money_uncertainty"] == pytest.approx(figures["uncertainty_90"] * TARIFF)
    assert figures["counterfactual"] - figures["observed"] == pytest.approx(figures["saving"])
    # opendsm's injected saving: what was used is 90 % of what would have been used.
    injected = figures["observed"] * INJECTED_FRACTION / (1 - INJECTED_FRACTION)
    assert abs(figures["saving"] - injected) <= figures["uncertainty_90"]
    assert 0 < figures["uncertainty_68"] < figures["uncertainty_90"] < figures["saving"]
    assert chain.site.ledger.verify().ok


def test_an_adjustment_is_audited_and_raises_the_baseline_by_its_amount(chain: Chain) -> None:
    assert chain.adjustment["actor"] == "ann"
    (row,) = chain.site.work_orders.audit.rows(
        "action = 'mv_adjustment' AND subject = ?", [chain.plan_id]
    ).to_pylist()
    assert row["actor"] == "ann" and "server room" in row["detail"]
    assert chain.second.revision == 2 and chain.second.run_id.endswith("#r2")
    february = chain.second.months["2027-02"]
    assert february["adjustment"] == pytest.approx(ADDED_LOAD * february["rows"])
    raised = chain.second.figures["saving"] - chain.first.figures["saving"]
    assert raised == pytest.approx(ADDED_LOAD * february["rows"])
    assert chain.second.figures["expected_value"] == EXPECTED_VALUE


def _statement(chain: Chain) -> SignedStatement:
    site = chain.site
    return contract_statement(
        site.config.value,
        "ESC-7",
        "2027-Q1",
        plans=PlanBook(site.store),
        ledger=site.ledger,
        seal=seal_of(site.store),
        site=site.model.name,
        currency="EUR",
        at=datetime(2027, 4, 10, tzinfo=UTC),
    )


def test_the_statement_sums_the_ledgers_months_of_the_period_and_is_signed(chain: Chain) -> None:
    signed = _statement(chain)
    content = signed.content
    months = chain.second.months
    quarter = ("2027-01", "2027-02", "2027-03")
    assert set(months) >= set(quarter) and "2027-04" in months  # the window runs into April
    saving = sum(months[m]["saving"] for m in quarter)
    assert content["saving"] == pytest.approx(saving)
    assert content["money"] == pytest.approx(saving * TARIFF)
    assert 0 < content["uncertainty"] < chain.second.figures["uncertainty_90"]
    (due,) = content["due"]
    assert (due["payer"], due["payee"]) == ("Campus Facilities", "Northwind Energy Services")
    assert due["amount"] == pytest.approx(0.5 * saving * TARIFF)
    assert content["ledger"]["head_seq"] == chain.site.ledger.head()[0]
    assert verify_statement(seal_of(chain.site.store), signed)
    forged = replace(signed, content={**content, "money": content["money"] * 2})
    assert not verify_statement(seal_of(chain.site.store), forged)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_the_pdf_reads_back_with_the_ledgers_figures(chain: Chain, tmp_path: Path) -> None:
    signed = _statement(chain)
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(statement_pdf(statement_html(signed)))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    months = chain.second.months
    saving = sum(months[m]["saving"] for m in ("2027-01", "2027-02", "2027-03"))
    for expected in (
        figure(saving),
        figure(saving * TARIFF),
        figure(0.5 * saving * TARIFF),
        figure(signed.content["uncertainty"]),
        figure(ADDED_LOAD),
        figure(chain.second.figures["saving"]),
        figure(chain.second.figures["expected_value"]),
        "changepoint_daily",
        "server room",
        f"seq {chain.site.ledger.head()[0]}",
    ):
        assert expected in text, expected
    # the signature's 64 digits may break across lines in the PDF
    assert signed.signature in "".join(text.split())


def test_the_api_serves_the_statement_to_a_viewer_and_refuses_adjustments(chain: Chain) -> None:
    viewer = {"Authorization": f"Bearer {chain.tokens['viewer']}"}
    answer = chain.client.get(
        "/api/contracts/ESC-7/statement",
        params={"period": "2027-Q1", "format": "pdf"},
        headers=viewer,
    )
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    as_json = chain.client.get(
        "/api/contracts/ESC-7/statement",
        params={"period": "2027-Q1", "format": "json"},
        headers=viewer,
    ).json()
    assert as_json["content"]["saving"] == pytest.approx(_statement(chain).content["saving"])
    assert (
        chain.client.get(
            "/api/contracts/ESC-7/statement", params={"period": "2031-Q1"}, headers=viewer
        ).status_code
        == 422
    )
    assert (
        chain.client.get(
            "/api/contracts/NOPE/statement", params={"period": "2027-Q1"}, headers=viewer
        ).status_code
        == 404
    )
    listed = chain.client.get("/api/measurements", headers=viewer).json()
    assert listed[0]["figures"]["saving"] == pytest.approx(chain.second.figures["saving"])
    refused = chain.client.post(
        f"/api/measurements/{chain.plan_id}/adjustments",
        headers=viewer,
        json={
            "kind": "other",
            "start": FEBRUARY[0].isoformat(),
            "end": FEBRUARY[1].isoformat(),
            "amount": 1.0,
            "reason": "x",
        },
    )
    assert refused.status_code == 403


def test_the_cli_writes_the_statement(chain: Chain, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "statement",
            "--contract",
            "ESC-7",
            "--period",
            "2027-Q1",
            "--no-pdf",
            "--out",
            str(tmp_path),
            "--data-dir",
            str(chain.site.data_dir),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "statement-ESC-7-2027-Q1.html").read_text()
    assert figure(_statement(chain).content["saving"]) in html


def test_the_cli_records_an_adjustment_for_an_approver_only(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = [
        "adjustments",
        "add",
        "--plan",
        chain.plan_id,
        "--kind",
        "production_change",
        "--start",
        "2027-03-01",
        "--end",
        "2027-03-08",
        "--amount",
        "3",
        "--reason",
        "a second shift for a week",
        "--data-dir",
        str(chain.site.data_dir),
    ]
    monkeypatch.setenv("VALUELOOP_TOKEN", chain.tokens["viewer"])
    refused = CliRunner().invoke(app, command, catch_exceptions=False)
    assert refused.exit_code == 1 and "approver needed" in refused.output
    monkeypatch.setenv("VALUELOOP_TOKEN", chain.tokens["approver"])
    done = CliRunner().invoke(app, command, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    listed = CliRunner().invoke(
        app,
        ["adjustments", "list", "--plan", chain.plan_id, "--data-dir", str(chain.site.data_dir)],
        catch_exceptions=False,
    )
    # a day without a zone is the site's (Chicago) midnight
    assert "production_change 2027-03-01T00:00:00-06:00" in listed.output
    assert "by ann: a second shift for a week" in listed.output
