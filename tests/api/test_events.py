"""``/api/events``: alarms and work orders as server-sent events, numbered and resumable.

Over a real ``valueloop serve`` a reading beyond a limit, ingested through the API, reaches a
connected stream as an ``alarm`` event within 2 s; in a test client a stream resumes after the
last id it saw, from ``since`` or ``Last-Event-ID``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests.api.fleet import bearer
from tests.api.plant import FLOW, plant_client, write_plant
from tests.e2e.processes import server_of

from valueloop.alarms import AlarmBook, LimitAlarm, Priority, Transition, alarm_id
from valueloop.api.auth import issue_token
from valueloop.site import open_site

RAISED = datetime(2026, 3, 1, 8, tzinfo=UTC)


def _events(text: str) -> list[dict[str, Any]]:
    """The events of a stream's text: each frame's fields, ``data`` parsed."""
    found = []
    for frame in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in fields:
            found.append({**fields, "data": json.loads(fields["data"])})
    return found


def test_a_stream_resumes_after_the_last_event_it_saw(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        operator = bearer(issue_token(site.store, "maria", "operator"))
        flow = int(site.registry.lookup([FLOW]).column("series_id")[0].as_py())
        high = LimitAlarm("flow_high", "pump-1", "flow", flow, "hi", 100.0, Priority.HIGH)
        first = client.get("/api/events", params={"max_seconds": 0}, headers=operator)
        AlarmBook(site.store).apply([Transition(high, "activate", RAISED, 140.0, "flow")])
        raised = alarm_id(high.key, RAISED)
        acked = client.post(f"/api/alarms/{raised}/acknowledge", json={}, headers=operator)
        order = client.post(
            "/api/workorders",
            json={
                "kind": "maintenance",
                "asset": "pump-1",
                "task": "check the seal",
                "window_start": "2026-03-02T08:00:00Z",
            },
            headers=operator,
        )
        everything = client.get("/api/events?since=0&max_seconds=0", headers=operator)
        resumed = client.get(
            "/api/events?max_seconds=0", headers={**operator, "Last-Event-ID": "2"}
        )
        unsigned = client.get("/api/events?max_seconds=0")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/event-stream")
    assert first.text == "retry: 2000\n\n"
    assert acked.status_code == 200 and order.status_code == 201, order.text
    events = _events(everything.text)
    assert [(event["id"], event["event"]) for event in events] == [
        ("1", "alarm"),
        ("2", "alarm"),
        ("3", "workorder"),
    ]
    assert [event["data"]["state"] for event in events[:2]] == ["unack", "acked"]
    assert events[0]["data"]["alarm_id"] == raised and events[1]["data"]["acked_by"] == "maria"
    assert events[2]["data"]["order_id"] == order.json()["order_id"]
    assert events[2]["data"]["status"] == "proposed"
    assert [event["id"] for event in _events(resumed.text)] == ["3"]
    assert unsigned.status_code == 401


def test_a_new_alarm_reaches_a_connected_stream_within_two_seconds(tmp_path: Path) -> None:
    site = open_site(write_plant(tmp_path), tmp_path / "data")
    token = issue_token(site.store, "ops", "admin")
    site.close()
    with server_of(tmp_path / "data") as server:
        headers = bearer(token)
        with httpx.stream(
            "GET",
            f"{server.base}/api/events",
            params={"max_seconds": 15},
            headers=headers,
            timeout=20,
        ) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 2000"
            reading = [{"series": FLOW, "ts": datetime.now(UTC).isoformat(), "value": 140.0}]
            sent = time.monotonic()
            stored = httpx.post(f"{server.base}/api/ingest", json=reading, headers=headers)
            assert stored.status_code == 200, stored.text
            event = next(line for line in lines if line.startswith("event: "))
            arrived = time.monotonic() - sent
            data = json.loads(next(lines).removeprefix("data: "))
    assert event == "event: alarm"
    assert (data["name"], data["asset"], data["state"]) == ("flow_high", "pump-1", "unack")
    assert data["value_at_raise"] == 140.0
    assert arrived < 2.0, f"the alarm took {arrived:.2f} s"
