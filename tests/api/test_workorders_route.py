"""Work orders through the API: proposals refused by their limits, the two-person rule and its
refusals, a task's completion, on a real site's books."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.act.test_desk import SITE, _reading

from valueloop.act.workorders import OrderStatus
from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site, open_site

USERS = {"olga": "operator", "ann": "approver", "bob": "approver", "vic": "viewer"}


@pytest.fixture
def works(tmp_path: Path) -> Iterator[Site]:
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    opened = open_site(path, tmp_path / "data")
    _reading(opened, "pump-1", "speed_setpoint", 1480.0, datetime.now(UTC) - timedelta(seconds=5))
    yield opened
    opened.close()


@pytest.fixture
def api(works: Site) -> Iterator[TestClient]:
    with TestClient(create_app(works)) as client:
        yield client


@pytest.fixture
def users(works: Site) -> dict[str, dict[str, str]]:
    return {
        name: {"Authorization": f"Bearer {issue_token(works.store, name, role)}"}
        for name, role in USERS.items()
    }


def _propose(api: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    answer = api.post("/api/workorders", json={"kind": "setpoint", **body}, headers=headers)
    assert answer.status_code == 201, answer.text
    order: dict[str, object] = answer.json()
    return order


def test_a_change_outside_its_limits_is_a_422_naming_the_limit(
    api: TestClient, users: dict[str, dict[str, str]]
) -> None:
    for body, limit in (
        ({"target": 1900}, "above its max 1800"),
        ({"target": 1300}, "above its max_step 100"),
        ({"setpoint": "flow", "target": 1}, "no set-point 'flow'"),
    ):
        answer = api.post(
            "/api/workorders",
            json={"kind": "setpoint", "asset": "pump-1", "setpoint": "speed_setpoint", **body},
            headers=users["olga"],
        )
        assert answer.status_code == 422, answer.text
        assert limit in answer.text
    viewer = api.post(
        "/api/workorders",
        json={"kind": "setpoint", "asset": "pump-1", "setpoint": "speed_setpoint", "target": 1400},
        headers=users["vic"],
    )
    assert viewer.status_code == 403


def test_two_approvers_other_than_the_proposer(
    api: TestClient, users: dict[str, dict[str, str]]
) -> None:
    order = _propose(
        api, users["olga"], asset="pump-1", setpoint="speed_setpoint", target=1400, reason="energy"
    )
    assert (order["status"], order["created_by"], order["approvals_needed"]) == (
        "proposed",
        "olga",
        2,
    )
    path = f"/api/workorders/{order['order_id']}"
    assert api.post(f"{path}/approve", headers=users["olga"]).status_code == 403
    assert api.post(f"{path}/approve", headers=users["vic"]).status_code == 403
    first = api.post(f"{path}/approve", json={"comment": "fine"}, headers=users["ann"])
    assert first.status_code == 200 and first.json()["approved_by"] == ["ann"]
    assert first.json()["status"] == "proposed"
    again = api.post(f"{path}/approve", headers=users["ann"])
    assert again.status_code == 409 and "ann has approved" in again.text
    second = api.post(f"{path}/approve", headers=users["bob"])
    assert second.json()["status"] == "approved"
    assert second.json()["approved_by"] == ["ann", "bob"]
    trail = api.get(f"{path}/audit", headers=users["vic"]).json()
    assert [(row["action"], row["actor"]) for row in trail] == [
        ("propose", "olga"),
        ("approve", "ann"),
        ("approve", "bob"),
        ("approved", "bob"),
    ]


def test_a_rejection_and_a_task_completed_by_the_maintenance_system(
    api: TestClient, users: dict[str, dict[str, str]], works: Site
) -> None:
    order = _propose(api, users["olga"], asset="pump-1", setpoint="speed_setpoint", target=1420)
    path = f"/api/workorders/{order['order_id']}"
    assert api.post(f"{path}/reject", headers=users["ann"]).json()["status"] == "rejected"
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    task = api.post(
        "/api/workorders",
        json={
            "kind": "maintenance",
            "asset": "pump-2",
            "task": "replace seal",
            "window_start": start,
            "crew": "mech-a",
            "expected_value": 900,
        },
        headers=users["olga"],
    ).json()
    task_path = f"/api/workorders/{task['order_id']}"
    assert api.post(f"{task_path}/approve", headers=users["ann"]).json()["status"] == "approved"
    early = api.post(
        f"{task_path}/complete", json={"actual_cost": 800, "duration_h": 2}, headers=users["olga"]
    )
    assert early.status_code == 409 and "cannot become completed" in early.text
    works.work_orders.transition(task["order_id"], OrderStatus.DISPATCHED, actor="policy")
    bad = api.post(
        f"{task_path}/complete", json={"actual_cost": -1, "duration_h": 2}, headers=users["olga"]
    )
    assert bad.status_code == 422
    done = api.post(
        f"{task_path}/complete",
        json={"actual_cost": 812.5, "duration_h": 2.5, "findings": "seal worn"},
        headers=users["olga"],
    ).json()
    assert (done["status"], done["actual_cost"], done["findings"]) == (
        "completed",
        812.5,
        "seal worn",
    )
