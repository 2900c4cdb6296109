"""The alarm list and the asset list are made once per change of what they show and given to
every client asking the same until the next change; the token is checked on every request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from tests.api.fleet import bearer
from tests.api.plant import FLOW, plant_client, series_id

from valueloop.alarms import AlarmBook, LimitAlarm, Priority, Transition
from valueloop.api.auth import issue_token, revoke_token
from valueloop.model.assets import SeriesSpec

RAISED = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _raise(book: AlarmBook, flow: int, asset: str, minutes: int) -> None:
    alarm = LimitAlarm("flow_high", asset, "flow", flow, "hi", 100.0, Priority.HIGH)
    at = RAISED + timedelta(minutes=minutes)
    book.apply([Transition(alarm, "activate", at, 140.0, "flow")])


def test_an_alarm_raised_by_the_engine_shows_in_the_next_list(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        token = issue_token(site.store, "vera", "viewer")
        flow = series_id(site, FLOW)
        engine_book = AlarmBook(site.store)  # the engine's own book, as under serve
        _raise(engine_book, flow, "pump-1", 0)
        first = client.get("/api/alarms", headers=bearer(token))
        assert [alarm["asset"] for alarm in first.json()] == ["pump-1"]
        assert client.get("/api/alarms", headers=bearer(token)).content == first.content
        site.store.execute("UPDATE alarms SET priority = 'low'")  # behind the books: unseen
        assert client.get("/api/alarms", headers=bearer(token)).content == first.content
        _raise(engine_book, flow, "pump-2", 5)
        after = client.get("/api/alarms", headers=bearer(token)).json()
        assert [(alarm["asset"], alarm["priority"]) for alarm in after] == [
            ("pump-2", "high"),
            ("pump-1", "low"),
        ]
        revoke_token(site.store, token.split("_")[1])
        refused = client.get("/api/alarms", headers=bearer(token))
        assert refused.status_code == 401


def test_a_kept_page_keeps_its_next_cursor(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        headers = bearer(issue_token(site.store, "vera", "viewer"))
        flow = series_id(site, FLOW)
        book = AlarmBook(site.store)
        for minutes, asset in enumerate(("pump-1", "pump-2", "pump-3")):
            _raise(book, flow, asset, minutes)
        pages = [client.get("/api/alarms?limit=2", headers=headers) for _ in range(2)]
        assert pages[0].content == pages[1].content
        assert [alarm["asset"] for alarm in pages[1].json()] == ["pump-3", "pump-2"]
        assert pages[1].headers["X-Next-Cursor"] == pages[0].headers["X-Next-Cursor"]
        assert pages[1].headers["Link"].endswith('rel="next"')
        rest = client.get(
            f"/api/alarms?limit=2&cursor={pages[1].headers['X-Next-Cursor']}", headers=headers
        )
        assert [alarm["asset"] for alarm in rest.json()] == ["pump-1"]
        assert "X-Next-Cursor" not in rest.headers


def test_new_predictions_and_series_show_in_the_next_asset_list(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        headers = bearer(issue_token(site.store, "vera", "viewer"))
        before = client.get("/api/assets", headers=headers).json()
        assert [(asset["asset"], asset["prediction"]) for asset in before] == [
            ("pump-1", None),
            ("pump-2", None),
            ("pump-3", None),
        ]
        site.predictions.add(
            pa.table(
                {
                    "run_id": ["run-1"],
                    "as_of": pa.array([RAISED], pa.timestamp("us", tz="UTC")),
                    "asset": ["pump-2"],
                    "cycle": pa.array([7], pa.int32()),
                    "rul": [40.0],
                    "lower": [30.0],
                    "upper": [50.0],
                    "interval": [0.9],
                    "model_version": ["m1"],
                }
            )
        )
        predicted = client.get("/api/assets", headers=headers).json()
        assert predicted[1]["prediction"]["rul"] == 40.0
        site.registry.ensure(
            [SeriesSpec("works/dosing/line-2/pump-4/flow", "pump-4", "flow", "l/min", "")]
        )
        after = client.get("/api/assets", headers=headers).json()
        assert [(asset["asset"], asset["series"]) for asset in after][-1] == ("pump-4", 1)
