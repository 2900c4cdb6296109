"""The action desk on a real site's books: limits, the two-person rule, auto approval, rollback.

The site is opened from a site.yaml written here; the current value of each set-point comes from
readings stored in the site's own store, as a connector would have stored them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from valueloop.act.desk import ActionDesk
from valueloop.act.trail import problems
from valueloop.act.workorders import OrderStatus
from valueloop.errors import ActionError, ForbiddenError, LimitError
from valueloop.site import Site, open_site

SITE = """
site: {name: works, timezone: Europe/Berlin, currency: EUR}
asset_types:
  pump:
    signals: {speed: {unit: rpm}, bearing_temperature: {unit: degC}}
    setpoints:
      speed_setpoint:
        unit: rpm
        min: 1000
        max: 1800
        max_step: 100
        min_interval: 5m
        auto: {min: 1400, max: 1600, max_step: 50}
        guards: [{signal: bearing_temperature, above: 80, within: 10m}]
assets:
  - {path: "pumping/line-1/pump-{1..2}", type: pump}
policy:
  approval: two_person
  approvals: 2
  kinds:
    maintenance: {approval: manual, approvals: 1}
"""

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


def _reading(site: Site, asset: str, signal: str, value: float, at: datetime) -> None:
    path = site.model.path(asset, signal)
    series_id = site.registry.lookup([path]).column("series_id")[0].as_py()
    site.points.write(
        pa.table(
            {
                "series_id": pa.array([series_id], pa.int32()),
                "ts": pa.array([at], pa.timestamp("us", tz="UTC")),
                "value": pa.array([value], pa.float64()),
                "quality": pa.array([0], pa.uint8()),
            }
        )
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    opened = open_site(path, tmp_path / "data")
    _reading(opened, "pump-1", "speed_setpoint", 1480.0, NOW - timedelta(minutes=1))
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(site: Site, clock: Clock) -> ActionDesk:
    return ActionDesk(
        site.work_orders, site.model, site.config.policy, site.setpoint_value, now=clock
    )


def test_a_change_outside_its_limits_is_refused_naming_the_limit(desk: ActionDesk) -> None:
    with pytest.raises(LimitError, match="above its max 1800"):
        desk.propose_setpoint("pump-1", "speed_setpoint", target=1900, actor="olga")
    with pytest.raises(LimitError, match="below its min 1000"):
        desk.propose_setpoint("pump-1", "speed_setpoint", target=900, actor="olga")
    with pytest.raises(LimitError, match=r"step of 120.*max_step 100"):
        desk.propose_setpoint("pump-1", "speed_setpoint", target=1360, actor="olga")
    with pytest.raises(LimitError, match="no set-point 'flow'"):
        desk.propose_setpoint("pump-1", "flow", target=1, actor="olga")
    with pytest.raises(LimitError, match="current value is unknown"):
        desk.propose_setpoint("pump-2", "speed_setpoint", target=1400, actor="olga")
    assert desk.orders.list().num_rows == 0


def test_the_rate_limit_refuses_a_change_too_soon(desk: ActionDesk, clock: Clock) -> None:
    desk.propose_setpoint("pump-1", "speed_setpoint", target=1400, actor="olga")
    clock.at = NOW + timedelta(minutes=4)
    with pytest.raises(LimitError, match=r"rate limit .* allows the next change at"):
        desk.propose_setpoint("pump-1", "speed_setpoint", target=1450, actor="olga")
    clock.at = NOW + timedelta(minutes=6)
    order = desk.propose_setpoint("pump-1", "speed_setpoint", change=-60, actor="olga")
    assert order["setpoint"] == pytest.approx(1420)


def test_two_people_other_than_the_proposer_approve(desk: ActionDesk) -> None:
    order = desk.propose_setpoint(
        "pump-1", "speed_setpoint", target=1400, reason="save energy", actor="olga"
    )
    order_id = order["order_id"]
    assert order["status"] == "proposed" and order["previous"] == 1480.0
    with pytest.raises(ForbiddenError, match="olga proposed"):
        desk.approve(order_id, actor="olga", role="approver")
    with pytest.raises(ForbiddenError, match="needs approver"):
        desk.approve(order_id, actor="vic", role="operator")
    first = desk.approve(order_id, actor="ann", role="approver")
    assert first["status"] == "proposed"
    with pytest.raises(ActionError, match="ann has approved"):
        desk.approve(order_id, actor="ann", role="approver")
    second = desk.approve(order_id, actor="bob", role="admin", comment="ok")
    assert second["status"] == "approved"
    entries = desk.orders.audit_trail(order_id).to_pylist()
    assert [e["action"] for e in entries] == ["propose", "approve", "approve", "approved"]
    assert problems(second, entries, desk.policy.of("setpoint")) == []
    with pytest.raises(ActionError, match="only a proposed order"):
        desk.reject(order_id, actor="cy", role="approver")


def test_a_change_inside_the_auto_band_is_approved_by_the_policy(site: Site, clock: Clock) -> None:
    policy = type(site.config.policy).model_validate(
        {**site.config.policy.model_dump(), "kinds": {"setpoint": {"approval": "auto"}}}
    )
    desk = ActionDesk(site.work_orders, site.model, policy, site.setpoint_value, now=clock)
    inside = desk.propose_setpoint("pump-1", "speed_setpoint", target=1440, actor="olga")
    assert inside["status"] == "approved" and inside["updated_by"] == "policy"
    clock.at = NOW + timedelta(minutes=10)
    outside = desk.propose_setpoint("pump-1", "speed_setpoint", target=1380, actor="olga")
    assert outside["status"] == "proposed"


def test_an_edited_row_is_not_vouched_for(site: Site, desk: ActionDesk) -> None:
    order = desk.propose_setpoint("pump-1", "speed_setpoint", target=1400, actor="olga")
    order_id = order["order_id"]
    site.store.execute(
        "UPDATE work_orders SET status = 'approved', setpoint = 1800 WHERE order_id = ?",
        [order_id],
    )
    edited = site.work_orders.get(order_id)
    found = problems(edited, desk.orders.audit_trail(order_id).to_pylist(), desk.policy.of("x"))
    assert any("setpoint is 1800.0 but was proposed as 1400" in p for p in found)
    assert any("state is approved but its audit entry records propose" in p for p in found)
    assert any("0 approval(s)" in p for p in found)


def test_a_task_is_proposed_and_completed(site: Site, desk: ActionDesk) -> None:
    order = desk.propose_task(
        "pump-2",
        "replace seal",
        window_start=NOW + timedelta(days=1),
        window_end=NOW + timedelta(days=2),
        crew="mech-a",
        expected_value=1200,
        actor="olga",
    )
    with pytest.raises(LimitError, match="window must end after"):
        desk.propose_task("pump-2", "x", window_start=NOW, window_end=NOW, actor="olga")
    order = desk.approve(order["order_id"], actor="ann", role="approver")
    assert order["status"] == "approved"
    site.work_orders.transition(order["order_id"], OrderStatus.DISPATCHED, actor="policy")
    done = desk.complete(
        order["order_id"], actor="cmms", actual_cost=950.0, duration_h=3.5, findings="worn seal"
    )
    assert (done["status"], done["actual_cost"], done["findings"]) == (
        "completed",
        950.0,
        "worn seal",
    )


def test_only_an_executed_change_rolls_back_to_its_audited_value(
    site: Site, desk: ActionDesk
) -> None:
    order = desk.propose_setpoint("pump-1", "speed_setpoint", target=1400, actor="olga")
    with pytest.raises(ActionError, match="only an executed set-point change"):
        desk.rollback(order["order_id"], actor="olga")
    order_id = order["order_id"]
    desk.approve(order_id, actor="ann", role="approver")
    desk.approve(order_id, actor="bob", role="approver")
    orders = site.work_orders
    orders.transition(order_id, OrderStatus.EXECUTING, actor="executor", detail={"before": 1475.0})
    orders.transition(order_id, OrderStatus.EXECUTED, actor="executor")
    _reading(site, "pump-1", "speed_setpoint", 1400.0, NOW)
    rollback = desk.rollback(order_id, actor="olga", reason="too loud")
    assert (rollback["setpoint"], rollback["rollback_of"], rollback["status"]) == (
        1475.0,
        order_id,
        "proposed",
    )
    with pytest.raises(ActionError, match="has a rollback already"):
        desk.rollback(order_id, actor="olga")
