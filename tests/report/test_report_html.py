"""The HTML report: one self-contained file with the charts, their data and the ledger."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.api.fleet import RUL, TRUE_RUL, Fleet, populate

from valueloop.report import write_report
from valueloop.report.data import predicted_vs_true, report_data
from valueloop.report.html import render_report
from valueloop.site import Site

CHARTS = ("fleet-chart", "truth-chart", "plan-chart", "policy-chart")


def _inlined_data(html: str) -> dict[str, Any]:
    pattern = r'<script type="application/json" id="report-data">(.*?)</script>'
    match = re.search(pattern, html, re.S)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_report_is_one_self_contained_file(site: Site, tmp_path: Path) -> None:
    fleet: Fleet = populate(site)
    path = write_report(site, tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "<link" not in html and not re.search(r"<script[^>]*\ssrc=", html)
    assert 'version:"6.1.0"' in html  # ECharts inlined
    assert "window.ValueloopCharts" in html
    for chart in CHARTS:
        assert f'id="{chart}"' in html
    data = _inlined_data(html)
    assert [a["asset"] for a in data["assets"]][: len(fleet.assets)] == fleet.assets
    assert data["plan"]["plan"]["plan_id"] == fleet.plan_id
    assert len(data["truth"]) == len(RUL)
    assert "hash chain intact" in html
    assert fleet.run_id in html and "RUL error (RMSE)" in html and "7.25 cycles" in html
    assert "9,800,000 USD (61.2 %)" in html  # saving against run to failure


def test_predicted_against_true_pairs_predictions_with_the_truth(site: Site) -> None:
    populate(site)
    points = predicted_vs_true(site)
    assert [(p.rul, p.true_rul) for p in points] == list(zip(RUL, TRUE_RUL, strict=True))


def test_ground_truth_may_be_absent(site: Site) -> None:
    assert predicted_vs_true(site) == []


def test_report_of_an_empty_site(site: Site, tmp_path: Path) -> None:
    html = write_report(site, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "no run has finished yet" in html
    assert "No ledger entries recorded." in html
    for chart in CHARTS:
        assert f'id="{chart}"' in html


def test_a_broken_ledger_chain_is_reported(site: Site) -> None:
    populate(site)
    site.store.execute("UPDATE ledger SET value = 0 WHERE seq = 2")
    html = render_report(report_data(site, generated_at=datetime(2026, 6, 2, tzinfo=UTC)))
    assert "hash chain broken at entries 2" in html
    assert "generated 2026-06-02 00:00 UTC" in html


def test_text_from_the_store_cannot_break_out_of_the_page(site: Site) -> None:
    populate(site)
    data = report_data(site, generated_at=datetime(2026, 6, 2, tzinfo=UTC))
    html = render_report(data.model_copy(update={"site": "</script><b>x"}))
    assert "</script><b>x" not in html
    assert "&lt;/script&gt;&lt;b&gt;x" in html  # in the page's text
    assert _inlined_data(html)["site"] == "</script><b>x"  # in the data, escaped as JSON
    assert html.count("</script>") == 4  # the data and the three inlined scripts
