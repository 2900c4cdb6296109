"""A person approves a work order through the API; the served site executes it in the replay."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from tests.e2e.processes import run_demo, serving

from valueloop.api.auth import issue_token
from valueloop.packs.aviation import PACK
from valueloop.site import open_site


def test_an_order_approved_through_the_api_restores_its_engine(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, "--approve-as", "")
    # the review's plan proposes its overhauls; the site's planner may add visits it left out
    assert set(summary["work_orders"]) == {"proposed"}
    assert summary["work_orders"]["proposed"] >= summary["plan_overhauls"]
    data = tmp_path / "data"
    site = open_site(PACK.site_file, data)
    headers = {"Authorization": f"Bearer {issue_token(site.store, 'maria', 'approver')}"}
    site.close()
    with serving(data) as base:
        proposed = httpx.get(
            f"{base}/api/workorders", params={"status": "proposed"}, headers=headers
        ).json()
        order = min(proposed, key=lambda item: item["due_at"])
        before = httpx.get(f"{base}/api/predictions/{order['asset']}", headers=headers).json()
        decided = httpx.post(
            f"{base}/api/workorders/{order['order_id']}/approve",
            json={"comment": "hangar slot confirmed"},
            headers=headers,
        )
        assert decided.status_code == 200 and decided.json()["updated_by"] == "maria"
        status = "approved"
        for _ in range(100):
            status = httpx.get(
                f"{base}/api/workorders/{order['order_id']}", headers=headers
            ).json()["status"]
            if status == "completed":
                break
            time.sleep(0.3)
        assert status == "completed"
        audit = httpx.get(
            f"{base}/api/workorders/{order['order_id']}/audit", headers=headers
        ).json()
        steps = [(row["action"], row["actor"]) for row in audit]
        assert steps[:3] == [
            ("propose", "planner:cp-sat"),
            ("approve", "maria"),
            ("approved", "maria"),
        ]
        assert steps[3][0] == "dispatched" and steps[4] == ("completed", "executor:replay")
        after = before
        for _ in range(100):  # the restored engine is predicted right after its execution
            after = httpx.get(f"{base}/api/predictions/{order['asset']}", headers=headers).json()
            if len(after) > len(before):
                break
            time.sleep(0.3)
        assert len(after) == len(before) + 1
        assert after[-1]["rul"] > before[-1]["rul"] + 40
