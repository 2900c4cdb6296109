"""The act job against a real OPC UA server process: write, read-back, guard rollback, failure,
tampering and expiry, on a real site's books.

The server is ``tests/connectors/opcua_pump.py`` (its ``Setpoint`` starts at 30 bar); the guard's
signal is stored in the site's store as the OPC UA connector would store it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.act.test_desk import _reading
from tests.connectors.opcua_pump import SETPOINT_START
from tests.connectors.peers import PeerProcess, need_package

from valueloop.act.job import ActJob
from valueloop.alarms.book import AlarmBook
from valueloop.engine.build import act_job
from valueloop.site import Site, open_site

pytestmark = pytest.mark.services

SITE = """
site: {{name: works}}
asset_types:
  pump:
    signals: {{pressure: {{unit: bar}}, temperature: {{unit: degC}}}}
    setpoints:
      setpoint:
        unit: bar
        min: 0
        max: 100
        max_step: 20
        tolerance: 0.001
        verify_within: 3s
        guards: [{{signal: temperature, above: 80, within: 10min}}]
      trim: {{unit: bar, min: -5, max: 5, verify_within: 1s}}
assets:
  - {{path: pumping/line-1/pump1, type: pump}}
connectors:
  - name: pump-opcua
    kind: opcua
    prefix: works/pumping/line-1
    endpoint: opc.tcp://127.0.0.1:{port}/valueloop/pump
    points:
      - {{node: "ns=2;s=Pump1.Pressure", series: pump1/pressure, unit: bar}}
    setpoints:
      - {{node: "ns=2;s=Pump1.Setpoint", series: pump1/setpoint, unit: bar}}
      - {{node: "ns=2;s=Pump1.NoSuchNode", series: pump1/trim, unit: bar}}
policy: {{approval: two_person, approvals: 2, execute_within: 10min}}
"""


@pytest.fixture
def pump() -> Iterator[PeerProcess]:
    need_package("asyncua")
    with PeerProcess("opcua_pump.py") as peer:
        yield peer


@pytest.fixture
def site(pump: PeerProcess, tmp_path: Path) -> Iterator[Site]:
    path = tmp_path / "site.yaml"
    path.write_text(SITE.format(port=pump.port))
    opened = open_site(path, tmp_path / "data")
    yield opened
    opened.close()


def _approved(site: Site, setpoint: str, target: float) -> str:
    desk = site.actions
    order = desk.propose_setpoint("pump1", setpoint, target=target, actor="olga")
    desk.approve(order["order_id"], actor="ann", role="approver")
    desk.approve(order["order_id"], actor="bob", role="approver")
    return str(order["order_id"])


def _field(site: Site, setpoint: str) -> float | None:
    return asyncio.run(site.field.read(site.model.path("pump1", setpoint))).value


def _alarms(site: Site) -> list[str]:
    rows = AlarmBook(site.store).list(include_normal=True).to_pylist()
    return sorted(row["name"] for row in rows)


def test_a_change_is_written_verified_and_rolled_back_when_its_guard_breaks(site: Site) -> None:
    job: ActJob = act_job(site)
    order_id = _approved(site, "setpoint", SETPOINT_START + 12.5)
    now = datetime.now(UTC)
    assert "1 executed" in job.step(now, None, None).message
    assert _field(site, "setpoint") == pytest.approx(SETPOINT_START + 12.5)
    order = site.work_orders.get(order_id)
    assert order["status"] == "executed"
    trail = site.work_orders.audit_trail(order_id).to_pylist()
    assert [row["action"] for row in trail][-4:] == ["executing", "write", "written", "executed"]
    assert '"before": 30.0' in trail[-4]["detail"]
    _reading(site, "pump1", "temperature", 75.0, now + timedelta(seconds=1))
    assert "rolled back" not in job.step(now + timedelta(seconds=2), None, None).message
    _reading(site, "pump1", "temperature", 85.0, now + timedelta(seconds=3))
    stepped = job.step(now + timedelta(seconds=4), None, None).message
    assert "1 rolled back by a guard" in stepped
    (rollback,) = [o for o in site.work_orders.list().to_pylist() if o["rollback_of"] == order_id]
    assert rollback["status"] == "approved" and rollback["setpoint"] == SETPOINT_START
    assert "1 executed" in job.step(now + timedelta(seconds=5), None, None).message
    assert _field(site, "setpoint") == pytest.approx(SETPOINT_START)
    assert site.work_orders.get(order_id)["status"] == "rolled_back"
    assert site.work_orders.get(rollback["order_id"])["status"] == "executed"
    assert "setpoint_guard_broken" in _alarms(site)
    assert "rolled back" not in job.step(now + timedelta(seconds=6), None, None).message


def test_a_write_the_server_refuses_fails_the_order_with_an_alarm(site: Site) -> None:
    job = act_job(site)
    order_id = _approved(site, "trim", 1.5)
    assert "1 failed" in job.step(datetime.now(UTC), None, None).message
    failed = site.work_orders.get(order_id)
    assert failed["status"] == "failed"
    reason = site.work_orders.audit_trail(order_id).to_pylist()[-1]["detail"]
    assert "NoSuchNode" in reason
    assert _alarms(site) == ["setpoint_change_failed"]


def test_an_order_approved_by_editing_the_database_is_not_executed(site: Site) -> None:
    job = act_job(site)
    order = site.actions.propose_setpoint("pump1", "setpoint", target=45, actor="olga")
    site.store.execute(
        "UPDATE work_orders SET status = 'approved' WHERE order_id = ?", [order["order_id"]]
    )
    assert "1 refused" in job.step(datetime.now(UTC), None, None).message
    assert _field(site, "setpoint") == pytest.approx(SETPOINT_START)
    assert site.work_orders.get(order["order_id"])["status"] == "approved"
    assert _alarms(site) == ["work_order_refused"]


def test_an_approval_not_executed_in_its_window_expires(site: Site) -> None:
    job = act_job(site)
    order_id = _approved(site, "setpoint", 40)
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert "1 expired" in job.step(later, None, None).message
    assert site.work_orders.get(order_id)["status"] == "expired"
    assert _field(site, "setpoint") == pytest.approx(SETPOINT_START)


def _plain_rehash(site: Site, seq: int) -> None:
    """Recompute an edited entry's hash the way someone without the site's key would."""
    import hashlib
    import json

    row = site.work_orders.audit.rows("seq = ?", [seq]).to_pylist()[0]
    content = {name: row[name] for name in ["seq", *site.work_orders.audit.columns]}
    content["recorded_at"] = row["recorded_at"].astimezone(UTC).isoformat()
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256((row["prev_hash"] + text).encode()).hexdigest()
    site.store.execute("UPDATE audit SET hash = ? WHERE seq = ?", [digest, seq])


TAMPERING = {
    "status": "UPDATE work_orders SET status = 'approved', audit_seq = audit_seq - 1",
    "value": "UPDATE work_orders SET setpoint = 49",
    "actor": "UPDATE audit SET actor = 'carl' WHERE action = 'approve' AND actor = 'bob'",
    "tail": "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)",
    "rehash": "UPDATE audit SET actor = 'carl' WHERE action = 'approve' AND actor = 'bob'",
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_a_tampered_order_or_trail_is_refused_and_nothing_is_written(site: Site, how: str) -> None:
    job = act_job(site)
    order_id = _approved(site, "setpoint", 45)
    site.work_orders.audit.verify(full=False)
    if how == "status":
        order = site.actions.propose_setpoint("pump1", "setpoint", target=46, actor="olga")
        site.store.execute(TAMPERING[how] + " WHERE order_id = ?", [order["order_id"]])
        site.store.execute(
            "UPDATE work_orders SET status = 'rejected' WHERE order_id = ?", [order_id]
        )
    elif how == "value":
        site.store.execute(TAMPERING[how] + " WHERE order_id = ?", [order_id])
    else:
        site.store.execute(TAMPERING[how])
    if how == "rehash":
        (seq,) = (
            site.store.query("SELECT seq FROM audit WHERE actor = 'carl'").column("seq").to_pylist()
        )
        _plain_rehash(site, seq)
    message = job.step(datetime.now(UTC), None, None).message
    assert "refused" in message and "executed" not in message, message
    assert _field(site, "setpoint") == pytest.approx(SETPOINT_START)
    assert "work_order_refused" in _alarms(site)
