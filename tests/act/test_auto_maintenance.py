"""The policy's automatic approval of maintenance tasks: cheap named tasks go, the rest wait.

A site whose policy is ``auto`` with two approvers, approving by itself the bearing inspections
planned to cost at most 2000 EUR. A pump's planned maintenance costs 1200 EUR and 4 hours of
planned downtime at 100 EUR an hour (1600 EUR); a compressor's 4000 EUR.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from valueloop.act.trail import problems
from valueloop.act.workorders import Proposal
from valueloop.config import parse_site
from valueloop.engine.build import act_job
from valueloop.errors import ConfigError
from valueloop.site import Site, open_site

SITE = """
site: {name: works, timezone: Europe/Berlin, currency: EUR}
asset_types:
  pump:
    signals: {vibration: {unit: mm/s}}
    costs: {planned_maintenance: 1200, downtime_per_hour: 100, planned_downtime_hours: 4}
  compressor:
    signals: {pressure: {unit: bar}}
    costs: {planned_maintenance: 4000}
assets:
  - {path: pumping/line-1/pump-1, type: pump}
  - {path: utilities/air/compressor-1, type: compressor}
policy:
  approval: auto
  approvals: 2
  auto_maintenance: {max_cost: 2000, tasks: [Inspect bearings]}
"""
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    (tmp_path / "site.yaml").write_text(SITE)
    opened = open_site(tmp_path / "site.yaml", tmp_path / "data")
    yield opened
    opened.close()


def propose(site: Site, asset: str, task: str) -> dict[str, object]:
    return site.actions_at(NOW).propose_task(
        asset, task, window_start=NOW + timedelta(days=1), actor="olga"
    )


def test_a_named_task_within_the_limit_is_approved_by_the_policy_and_audited(site: Site) -> None:
    order = propose(site, "pump-1", "inspect bearings")
    assert (order["status"], order["updated_by"], order["expected_cost"]) == (
        "approved",
        "policy",
        1600.0,
    )
    trail = site.work_orders.audit_trail(str(order["order_id"])).to_pylist()
    assert [(row["action"], row["actor"]) for row in trail] == [
        ("propose", "olga"),
        ("approve", "policy"),
        ("approved", "policy"),
    ]
    detail = json.loads(trail[1]["detail"])
    assert detail["auto"] and detail["planned_cost"] == 1600.0
    assert detail["auto_maintenance"] == {"max_cost": 2000.0, "tasks": ["Inspect bearings"]}
    assert problems(order, trail, site.config.policy.of("maintenance")) == []


def test_another_task_or_a_dearer_one_needs_two_people(site: Site) -> None:
    other = propose(site, "pump-1", "replace seal")
    dearer = propose(site, "compressor-1", "inspect bearings")
    assert other["status"] == dearer["status"] == "proposed"
    desk = site.actions_at(NOW)
    order_id = str(dearer["order_id"])
    assert desk.approve(order_id, actor="ann", role="approver")["status"] == "proposed"
    assert desk.approve(order_id, actor="bob", role="approver")["status"] == "approved"


def test_a_task_a_rule_booked_is_approved_by_the_act_job_and_handed_to_the_crew(
    site: Site,
) -> None:
    booked = [
        Proposal(
            asset=asset,
            action="maintenance",
            due_at=NOW,
            expected_cost=cost,
            task="inspect bearings",
            source=f"rule:inspect:{asset}",
        )
        for asset, cost in (("pump-1", 1600.0), ("compressor-1", 4000.0))
    ]
    cheap, dear = site.work_orders.propose("", booked, actor="rules", model_version="", at=NOW)
    result = act_job(site).step(NOW, None, None)
    assert "1 approved by the policy" in result.message and "1 dispatched" in result.message
    assert site.work_orders.get(cheap)["status"] == "dispatched"
    assert site.work_orders.get(dear)["status"] == "proposed"
    assert act_job(site).step(NOW + timedelta(seconds=1), None, None).rows == 0


def test_auto_maintenance_needs_the_auto_approval_of_maintenance() -> None:
    manual = SITE.replace("  approval: auto\n", "  approval: manual\n")
    with pytest.raises(ConfigError, match="auto_maintenance needs the auto approval"):
        parse_site(manual)
    overridden = manual.replace(
        "  approvals: 2\n", "  approvals: 2\n  kinds: {maintenance: {approval: auto}}\n"
    )
    assert parse_site(overridden).policy.auto_maintenance is not None
