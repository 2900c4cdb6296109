"""Dead letters of an unmapped MQTT topic are stored by ``valueloop deadletter replay`` once the
site's mapping covers the topic again.

The broker keeps a persistent session's subscriptions: after a mapping edit drops a topic, its
messages still arrive, as dead letters "unknown topic"; restoring the mapping and replaying stores
them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from tests.connectors.brokers import Broker, Publisher
from tests.connectors.fieldsources import gather_until, wait_connected

from valueloop.config import parse_site
from valueloop.connectors.mqtt import MqttSource
from valueloop.site import open_site

pytestmark = pytest.mark.services

PREFIX = "plant/utilities/line-1"
ROOT = Path(__file__).resolve().parents[2]


def site_yaml(port: int, topics: list[str]) -> str:
    """A site of one pump whose MQTT connector maps ``topics`` to pump flows."""
    document = {
        "site": {"name": "plant"},
        "asset_types": {"pump": {"signals": {"flow": {"unit": "l/min"}}}},
        "assets": [{"path": "utilities/line-1/pump-7", "type": "pump"}],
        "connectors": [
            {
                "name": "line-1-mqtt",
                "kind": "mqtt",
                "prefix": PREFIX,
                "port": port,
                "client_id": "valueloop-replay-test",
                "points": [
                    {"topic": topic, "series": "{asset}/flow", "unit": "l/min"} for topic in topics
                ],
            }
        ],
    }
    return str(yaml.safe_dump(document))


def test_unmapped_topic_is_replayed_after_the_mapping_fix(
    broker: Broker, publisher: Publisher, tmp_path: Path
) -> None:
    both = ["pumps/{asset}/flow", "legacy/{asset}/flow"]
    subscribed = MqttSource(parse_site(site_yaml(broker.port, both)).connectors[-1])  # type: ignore[arg-type]

    async def subscribe() -> None:
        task = asyncio.create_task(gather_until(subscribed, lambda got: False, timeout=3))
        await wait_connected(subscribed)
        await subscribed.stop()
        await task

    asyncio.run(subscribe())
    before = parse_site(site_yaml(broker.port, ["pumps/{asset}/flow"]))
    source = MqttSource(before.connectors[-1])  # type: ignore[arg-type]

    async def receive() -> pa.Table:
        task = asyncio.create_task(
            gather_until(source, lambda got: got.rejected.num_rows >= 1, timeout=15)
        )
        await wait_connected(source)
        await asyncio.to_thread(
            publisher.publish,
            [("legacy/pump-7/flow", b'[{"ts": "2026-06-01T10:00:00Z", "value": 118.5}]')],
        )
        gathered = await task
        await source.stop()
        return gathered.rejected

    data = tmp_path / "data"
    site = open_site(before, data)
    site.pipeline.dead_letters.add(asyncio.run(receive()))
    assert (
        site.pipeline.dead_letters.pending()
        .column("reason")[0]
        .as_py()
        .startswith("unknown topic legacy/pump-7/flow")
    )
    site.batches.register([(f"{PREFIX}/pump-7/flow", "l/min", "")])
    site.close()

    fixed = tmp_path / "site.yaml"
    fixed.write_text(site_yaml(broker.port, both))
    replayed = subprocess.run(
        [
            sys.executable,
            "-m",
            "valueloop",
            "deadletter",
            "replay",
            *("--site", str(fixed)),
            *("--data-dir", str(data)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "1 replayed (1 readings stored), 0 still pending" in replayed.stdout

    site = open_site(fixed, data)
    try:
        (series_id,) = site.registry.resolve(pa.array([f"{PREFIX}/pump-7/flow"])).to_pylist()
        assert site.points.read([series_id]).column("value").to_pylist() == [118.5]
        assert site.pipeline.dead_letters.pending().num_rows == 0
    finally:
        site.close()
