"""``/api/trends``: raw points when a range holds few, MinMaxLTTB over the store's buckets when it
holds many; bad-quality points and gaps kept; bounds on series and width refused with 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from fastapi.testclient import TestClient
from tests.api.fleet import bearer
from tests.api.plant import FLOW, plant_client, series_id

from valueloop.api.auth import issue_token
from valueloop.schema import POINT_SCHEMA, Quality
from valueloop.site import Site

START = datetime(2026, 3, 1, tzinfo=UTC)
SECONDS = 60_000
HOLE = (20_000, 23_000)
"""Seconds after :data:`START` without a reading."""
SPIKE = 41_234
"""The second whose reading is far above the rest."""
BAD = 30_000
"""The second whose reading is NaN (bad quality)."""
UNSURE = (50_000, 51_000)
"""Seconds after :data:`START` whose readings are of uncertain quality."""


def _readings(series: int) -> pa.Table:
    """One reading a second for :data:`SECONDS` s: a slow sine, one spike, one NaN, one hole."""
    seconds = np.arange(SECONDS)
    seconds = seconds[(seconds < HOLE[0]) | (seconds >= HOLE[1])]
    values = np.sin(seconds / 3_000.0)
    values[seconds == SPIKE] = 50.0
    values[seconds == BAD] = np.nan
    stamps = np.datetime64(START.replace(tzinfo=None), "us") + seconds * np.timedelta64(1, "s")
    return pa.table(
        {
            "series_id": pa.array(np.full(len(seconds), series), pa.int32()),
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "value": pa.array(values, pa.float64()),
            "quality": pa.array((seconds >= UNSURE[0]) & (seconds < UNSURE[1]), pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def _trend(client: TestClient, site: Site, params: dict[str, Any]) -> dict[str, Any]:
    headers = bearer(issue_token(site.store, "vera", "viewer"))
    answer = client.get("/api/trends", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _ms(second: int) -> int:
    return int((START + timedelta(seconds=second)).timestamp() * 1000)


def test_a_wide_range_is_drawn_from_buckets_keeping_its_spike_and_hole(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        flow = series_id(site, FLOW)
        site.points.write(_readings(flow))
        end = START + timedelta(seconds=SECONDS)
        body = _trend(client, site, {"series": flow, "start": START, "end": end, "width": 400})
    (trace,) = body["series"]
    assert trace["path"] == FLOW and trace["unit"] == "l/min"
    assert trace["mode"] == "minmaxlttb"
    points = trace["points"]
    assert 300 <= len(points) <= 400
    stamps = [point[0] for point in points]
    assert stamps == sorted(stamps)
    values = [point[1] for point in points if point[1] is not None]
    assert max(values) == 50.0  # the spike survives
    assert min(values) == min(np.sin(np.arange(SECONDS) / 3_000.0))
    bucket_ms = SECONDS * 1000 / (4 * 400)
    unsure = [point[0] for point in points if point[2] == Quality.UNCERTAIN]
    assert unsure and all(
        _ms(UNSURE[0]) - bucket_ms <= ms < _ms(UNSURE[1]) + bucket_ms for ms in unsure
    )
    bad = [point[0] for point in points if point[2] == Quality.BAD]
    assert all(abs(ms - _ms(BAD)) < bucket_ms for ms in bad)
    ((gap_start, gap_end),) = trace["gaps"]
    assert abs(gap_start - _ms(HOLE[0])) <= 2 * bucket_ms
    assert abs(gap_end - _ms(HOLE[1])) <= 2 * bucket_ms
    assert body["width"] == 400 and body["server_ms"] > 0


def test_a_narrow_range_gives_its_raw_points_with_their_quality(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        flow = series_id(site, FLOW)
        site.points.write(_readings(flow))
        start = START + timedelta(seconds=BAD - 100)
        body = _trend(
            client,
            site,
            {"series": [flow, flow], "start": start, "end": start + timedelta(seconds=200)},
        )
    (trace,) = body["series"]
    assert trace["mode"] == "raw"
    assert len(trace["points"]) == 200
    bad = [point for point in trace["points"] if point[2] == Quality.BAD]
    assert bad == [[_ms(BAD), None, int(Quality.BAD)]]
    assert trace["points"][0] == [_ms(BAD - 100), np.sin((BAD - 100) / 3_000.0), 0]
    assert trace["gaps"] == []


def test_many_series_side_by_side_and_the_bounds(tmp_path: Path) -> None:
    with plant_client(tmp_path) as (site, client):
        flow = series_id(site, FLOW)
        site.points.write(_readings(flow))
        ids = [int(i) for i in site.registry.catalogue().column("series_id").to_pylist()]
        end = START + timedelta(seconds=SECONDS)
        body = _trend(client, site, {"series": ids, "start": START, "end": end, "width": 100})
        headers = bearer(issue_token(site.store, "ann", "viewer"))

        def status(**params: object) -> int:
            query = {"series": flow, "start": START, "end": end, **params}
            return client.get("/api/trends", params=query, headers=headers).status_code

        refused = {
            "too many series": status(series=list(range(1, 52))),
            "too narrow": status(width=99),
            "too wide": status(width=10_001),
            "unknown series": status(series=[flow, 9_999]),
            "backwards": status(start=end, end=START),
        }
        years = status(start=START - timedelta(days=3 * 365), width=100)  # day-wide buckets
        unsigned = client.get("/api/trends", params={"series": flow, "start": START, "end": end})
    assert [trace["series_id"] for trace in body["series"]] == ids
    empty = [trace for trace in body["series"] if trace["series_id"] != flow]
    assert all(trace["points"] == [] and trace["mode"] == "raw" for trace in empty)
    assert refused == {
        "too many series": 422,
        "too narrow": 422,
        "too wide": 422,
        "unknown series": 404,
        "backwards": 422,
    }
    assert years == 200
    assert unsigned.status_code == 401
