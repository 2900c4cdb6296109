"""Dead letters of unknown series are replayed once the series is registered."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from valueloop.connectors.base import FieldDelivery, readings
from valueloop.ingest.replay import replay_dead_letters
from valueloop.model.assets import SeriesSpec
from valueloop.site import Site

PATH = "plant/utilities/loop-1/pump-1/pressure"


def test_replay_after_the_series_is_registered(site: Site) -> None:
    stamps = [datetime(2026, 3, 1, 10, minute, tzinfo=UTC) for minute in range(3)]
    delivery = FieldDelivery(
        readings([PATH] * 3, pa.array(stamps, pa.timestamp("us", tz="UTC")), pa.array([1.0, 2, 3]))
    )
    report = site.pipeline.ingest_readings(delivery, "line-mqtt")
    assert (report.points_inserted, report.dead_letters) == (0, 3)

    before = replay_dead_letters(site.pipeline, {})
    assert (before.replayed, before.pending) == (0, 3)

    site.registry.ensure([SeriesSpec(PATH, "pump-1", "pressure", "bar", "")])
    after = replay_dead_letters(site.pipeline, {})
    assert (after.examined, after.replayed, after.readings_stored) == (3, 3, 3)
    series_id = site.registry.lookup([PATH]).column("series_id")[0].as_py()
    assert site.points.read([series_id]).column("value").to_pylist() == [1.0, 2.0, 3.0]
    assert site.pipeline.dead_letters.pending().num_rows == 0
    assert replay_dead_letters(site.pipeline, {}).examined == 0
