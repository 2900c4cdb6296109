"""``/api/assets/tree`` and ``/api/assets/{asset}/overview``: the ISA-95 tree of a plant and what
an asset page shows, read from the site's real books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from tests.api.fleet import bearer
from tests.api.plant import FLOW, plant_client, series_id

from valueloop.act.workorders import Proposal
from valueloop.alarms import AlarmBook, LimitAlarm, Priority, Transition
from valueloop.api.auth import issue_token
from valueloop.schema import POINT_SCHEMA

NEWEST = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _minutes(series: int, count: int) -> pa.Table:
    """``count`` readings one a minute up to :data:`NEWEST`, valued by their minute."""
    stamps = [NEWEST - timedelta(minutes=count - 1 - i) for i in range(count)]
    return pa.table(
        {
            "series_id": pa.array([series] * count, pa.int32()),
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "value": pa.array([float(i) for i in range(count)], pa.float64()),
            "quality": pa.array([0] * count, pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def test_the_tree_holds_areas_lines_and_assets_by_name(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        headers = bearer(issue_token(site.store, "vera", "viewer"))
        assert client.get("/api/assets/tree").status_code == 401
        tree = client.get("/api/assets/tree", headers=headers).json()
    assert tree["site"] == "works"
    assert [(area["name"], area["level"]) for area in tree["nodes"]] == [
        ("dosing", "area"),
        ("pumping", "area"),
    ]
    line = tree["nodes"][1]["children"][0]
    assert (line["path"], line["level"]) == ("pumping/line-1", "line")
    assert [(asset["path"], asset["level"], asset["type"]) for asset in line["children"]] == [
        ("pumping/line-1/pump-1", "asset", "pump"),
        ("pumping/line-1/pump-2", "asset", "pump"),
    ]


def test_an_overview_shows_signals_alarms_orders_and_setpoints(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        flow = series_id(site, FLOW)
        site.points.write(_minutes(flow, 3 * 24 * 60))
        high = LimitAlarm("flow_high", "pump-1", "flow", flow, "hi", 100.0, Priority.HIGH)
        AlarmBook(site.store).apply([Transition(high, "activate", NEWEST, 140.0, "flow")])
        proposal = Proposal(
            asset="pump-1",
            action="inspect seal",
            due_at=NEWEST,
            expected_cost=300.0,
            failure_probability=0.1,
            kind="maintenance",
            task="inspect the seal",
        )
        site.work_orders.propose("manual", [proposal], actor="maria", model_version="none")
        headers = bearer(issue_token(site.store, "vera", "viewer"))
        page = client.get("/api/assets/pump-1/overview", headers=headers).json()
        other = client.get("/api/assets/pump-2/overview", headers=headers).json()
        missing = client.get("/api/assets/pump-9/overview", headers=headers)
    assert page["asset"] == "pump-1" and page["type"] == "pump"
    signals = {signal["signal"]: signal for signal in page["signals"]}
    assert set(signals) == {"flow", "power", "speed"}
    latest = signals["flow"]["latest"]
    assert latest["value"] == 3 * 24 * 60 - 1 and latest["quality"] == 0
    assert datetime.fromisoformat(latest["ts"]) == NEWEST
    sparkline = signals["flow"]["sparkline"]
    assert 50 <= len(sparkline) <= 60
    day_ago = (NEWEST - timedelta(hours=24)).timestamp() * 1000
    assert sparkline[0][0] >= day_ago - 25 * 60 * 1000
    assert sparkline[-1][1] > sparkline[0][1]  # rising, one per minute
    assert signals["power"]["latest"] is None and signals["power"]["sparkline"] == []
    assert [alarm["name"] for alarm in page["alarms"]] == ["flow_high"]
    assert page["alarms"][0]["state"] == "unack"
    assert [order["task"] for order in page["workorders"]] == ["inspect the seal"]
    assert page["workorders"][0]["status"] == "proposed"
    assert page["setpoints"] == [
        {
            "name": "speed",
            "unit": "rpm",
            "min": 500.0,
            "max": 3000.0,
            "max_step": 200.0,
            "current": None,
        }
    ]
    assert other["alarms"] == [] and other["workorders"] == []
    assert missing.status_code == 404 and "pump-9" in missing.json()["detail"]


def test_the_site_names_its_time_zone_and_currency(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        headers = bearer(issue_token(site.store, "vera", "viewer"))
        answer = client.get("/api/site", headers=headers)
        unsigned = client.get("/api/site")
    assert answer.json() == {
        "name": "works",
        "enterprise": "enterprise",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
    }
    assert unsigned.status_code == 401
