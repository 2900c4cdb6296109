"""Live in the loop: a SKAB file replayed through the ingest pipeline into the store, scored as it
arrives, gives the events of the offline evaluation, and the API serves them."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
from fastapi.testclient import TestClient
from tests.analytics.anomaly.test_streaming import offline_events
from tests.api.fleet import bearer

from valueloop.analytics.anomaly import StreamingScorer, skab_detector
from valueloop.analytics.anomaly.data import SKAB_SIGNALS, load_skab_file
from valueloop.analytics.anomaly.evaluate import SKAB_ALARM, SKAB_PERSISTENCE, SKAB_TRAIN_ROWS
from valueloop.analytics.anomaly.live import LiveAnomalies
from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.connectors.base import FieldDelivery, readings
from valueloop.ingest.batches import KeyedIngest
from valueloop.site import Site

PREFIX = "skoltech/water-loop/bench-1/pump"
BATCH_ROWS = 61


def _signal(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_").lower()


def test_skab_replayed_through_the_store_matches_the_offline_events(site: Site) -> None:
    data = load_skab_file("valve2/1.csv")
    paths = [f"{PREFIX}/{_signal(name)}" for name in SKAB_SIGNALS]
    KeyedIngest(site.store, site.pipeline).register([(path, "", "") for path in paths])
    series = site.registry.lookup(paths).column("series_id").to_pylist()
    train = slice(0, SKAB_TRAIN_ROWS)
    detector = skab_detector().fit(data.timestamps[train], data.values[train])
    scorer = StreamingScorer(
        {"pump": (series, detector)}, alarm=SKAB_ALARM, persistence=SKAB_PERSISTENCE
    )
    live = LiveAnomalies(site.points, scorer, {"pump": series}, site.anomalies, detector="pca")

    rows = len(data.timestamps)
    for start in range(0, rows, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, rows)
        count = stop - start
        stamps = np.repeat(data.timestamps[start:stop].astype("datetime64[us]"), len(paths))
        delivery = FieldDelivery(
            readings(
                paths * count,
                pa.array(stamps, pa.timestamp("us", tz="UTC")),
                pa.array(data.values[start:stop].ravel()),
            )
        )
        report = site.pipeline.ingest_readings(delivery, "skab-replay")
        assert report.points_inserted == count * len(paths)
        live.poll()
        assert live.scorer.last_scores.num_rows == count
    live.close()

    events = site.anomalies.list(1000).sort_by("start_ts")
    got = list(
        zip(
            events["start_ts"].cast(pa.timestamp("s")).to_numpy(),
            events["end_ts"].cast(pa.timestamp("s")).to_numpy(),
            strict=True,
        )
    )
    assert got == offline_events(data) and got

    client = TestClient(create_app(site))
    viewer = bearer(issue_token(site.store, "ann", "viewer"))
    served = client.get("/api/anomalies", params={"asset": "pump"}, headers=viewer).json()
    assert len(served) == len(got)
    assert {event["detector"] for event in served} == {"pca"}
    assert all(event["series_id"] in series for event in served)
