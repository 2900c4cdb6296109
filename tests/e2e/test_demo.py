"""The whole loop from the command line, as a user runs it, then the API it serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.processes import run_demo, serving

from valueloop.api.auth import issue_token
from valueloop.packs.aviation import PACK
from valueloop.packs.aviation.jobs import STAGES
from valueloop.site import open_site

# README's demo figures: RUL RMSE 13.26 cycles (FD001, last cycle), 80 % intervals covering 84 %,
# the predictive plan 52.7 % cheaper than running to failure.
README_RMSE, README_COVERAGE, README_SAVING_PERCENT = 13.26, 0.84, 52.7


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("demo")
    return run_demo(folder), folder / "data"


def test_summary_has_every_figure(demo_run: tuple[dict[str, Any], Path]) -> None:
    summary, _ = demo_run
    for key in (
        "rul_rmse",
        "rul_phm_score",
        "rul_interval_coverage",
        "plan_status",
        "policies",
        "savings",
        "points_ingested",
        "dead_letters",
        "job_seconds",
    ):
        assert key in summary, key
    assert {f"aviation:{stage}:fleet-replay" for stage in STAGES} <= set(summary["job_seconds"])
    assert summary["engine"]["failures"] == 0 and summary["job_failures"] == {}
    assert summary["points_ingested"] == 13096 * 24
    assert summary["dead_letters"] == 0


def test_rul_bar_plan_and_savings(demo_run: tuple[dict[str, Any], Path]) -> None:
    summary, _ = demo_run
    assert summary["rul_rmse"] == pytest.approx(README_RMSE, abs=1.0)
    assert summary["rul_interval_coverage"] == pytest.approx(README_COVERAGE, abs=0.05)
    assert summary["plan_status"] in ("OPTIMAL", "FEASIBLE")
    policies = summary["policies"]
    assert set(policies) == {"run_to_failure", "fixed_interval", "predictive"}
    assert policies["run_to_failure"]["failures"] == summary["engines"] == 100
    for baseline in ("run_to_failure", "fixed_interval"):
        saving = summary["savings"][baseline]
        assert saving["money"] > 0
        assert saving["money"] == pytest.approx(
            policies[baseline]["cost"] - policies["predictive"]["cost"], abs=1.0
        )
        assert saving["percent"] == pytest.approx(
            100 * saving["money"] / policies[baseline]["cost"], abs=1e-2
        )
    assert summary["savings"]["run_to_failure"]["percent"] == pytest.approx(
        README_SAVING_PERCENT, abs=2.0
    )
    assert summary["ledger_intact"] is True


def test_orders_due_this_week_were_approved_executed_and_engines_restored(
    demo_run: tuple[dict[str, Any], Path],
) -> None:
    summary, _ = demo_run
    executed = summary["work_orders"].get("completed", 0)
    assert executed == summary["work_orders_executed"] > 0
    assert summary["work_orders"].get("proposed", 0) > 0
    restored = summary["restored_engines_rul"]
    # an engine is predicted again once its first cycle after the shop visit has landed: all but
    # those overhauled at the period's last tick
    assert 0 < len(restored) <= executed
    assert min(restored.values()) > 60  # a restored engine has most of its life ahead


def test_api_answers_with_a_token_and_refuses_without(
    demo_run: tuple[dict[str, Any], Path],
) -> None:
    _, data = demo_run
    site = open_site(PACK.site_file, data)
    token = issue_token(site.store, "e2e", "viewer")
    site.close()
    with serving(data) as base:
        assert httpx.get(f"{base}/api/summary").status_code == 401
        bad = httpx.get(f"{base}/api/summary", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        good = httpx.get(f"{base}/api/summary", headers={"Authorization": f"Bearer {token}"})
        assert good.status_code == 200
        assert good.json()["plan_status"] in ("OPTIMAL", "FEASIBLE")
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "echarts" in page.text


def test_the_demo_store_compacts_and_checks_clean(demo_run: tuple[dict[str, Any], Path]) -> None:
    import subprocess
    import sys

    _, data = demo_run

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "valueloop", "store", *args, "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    before = open_site(PACK.site_file, data)
    points = before.points.read(list(range(1, 25)))
    before.close()
    assert "moved" in run("compact", "--older-than", "30d")
    after = open_site(PACK.site_file, data)
    try:
        assert after.points.read(list(range(1, 25))).equals(points)
        assert {tier.tier for tier in after.points.info() if tier.points} == {"hot", "cold"}
    finally:
        after.close()
    assert "FAILED" not in run("check")
