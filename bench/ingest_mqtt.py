"""MQTT ingest benchmark: publisher process -> Mosquitto -> connector -> ingest -> DuckDB store.

For batched JSON (:class:`MqttSource`) and Sparkplug B (:class:`SparkplugHost`), the same
publisher process sends the same messages at QoS 1 through a Mosquitto running the shipped
``deploy/mosquitto/valueloop.conf``:

- raw ceiling: to a paho subscriber that only counts messages;
- end to end: to the connector, each delivery stored by ``IngestPipeline.ingest_readings`` in a
  fresh DuckDB site store; the points stored are counted there (loss = published - stored).

Both rates run from the publisher's start to the last message counted (raw) or stored (end to
end). Last, the messages a QoS 1 consumer loses under a burst of ``--burst`` messages from
Mosquitto's own C publisher, with Mosquitto's default settings and with the shipped ones: a slow
consumer (20 ms per delivery of 100 messages) and one that stalls until the burst is over.

Other ingest paths (e.g. the edge outbox drain) join the table by adding a function returning a
:class:`Row` to ``SCENARIOS``.

    python bench/ingest_mqtt.py [--messages 4000] [--points-per-message 100] [--burst 20000]
                                [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from rich.console import Console
from rich.table import Table

import edge_outbox
from common import write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.connectors.brokers import Broker, consumer_loss, default_config, shipped_config
from tests.connectors.fieldsources import gather_until, wait_connected

from valueloop.connectors.base import FieldDelivery, FieldSource
from valueloop.connectors.mqtt import MqttSource, MqttSpec
from valueloop.connectors.sparkplug import SparkplugHost, SparkplugSpec
from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.model.assets import SeriesSpec
from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site

SERIES = 100
"""Series the publisher writes to: 10 assets x 10 signals."""
BASE_MS = 1_780_272_000_000
SLOW_DELIVERY_S = 0.02
BATCH_MESSAGES = 500
"""Messages per delivery of the connectors under test."""


@dataclass(frozen=True)
class Workload:
    """What the publisher sends: ``messages`` of ``points`` readings each, spread over series."""

    kind: str
    messages: int
    points: int

    @property
    def total(self) -> int:
        """Readings published."""
        return self.messages * self.points


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    scenario: str
    points: int
    raw_points_per_s: float
    e2e_points_per_s: float
    ratio: float
    lost: int
    deliveries: int


def _series(index: int) -> tuple[str, str]:
    return f"pump-{index // 10:03d}", f"s{index % 10}"


def _json_messages(work: Workload) -> list[tuple[str, bytes]]:
    """Batched JSON: each message an array of ``points`` {ts, value} objects of one series."""
    messages = []
    for number in range(work.messages):
        asset, signal = _series(number % SERIES)
        start = BASE_MS + (number // SERIES) * work.points * 1000
        body = [{"ts": start + k * 1000, "value": number + k / 1000} for k in range(work.points)]
        messages.append((f"bench/{asset}/{signal}", json.dumps(body).encode()))
    return messages


def _sparkplug_messages(work: Workload) -> list[tuple[str, bytes]]:
    """NBIRTH, DBIRTH declaring ``points`` Double metrics by alias, then DDATA of all of them."""

    def payload(seq: int, ts: int, named: bool) -> bytes:
        message = pb.Payload(timestamp=ts, seq=seq)
        for alias in range(work.points):
            metric = message.metrics.add(alias=alias, timestamp=ts, double_value=alias + ts / 1e12)
            if named:
                metric.name, metric.datatype = f"m{alias:03d}", pb.Double
        return bytes(message.SerializeToString())

    birth = pb.Payload(timestamp=BASE_MS, seq=0)
    birth.metrics.add(name="bdSeq", datatype=pb.Int64, long_value=0)
    messages = [
        ("spBv1.0/bench/NBIRTH/edge-1", bytes(birth.SerializeToString())),
        ("spBv1.0/bench/DBIRTH/edge-1/pump-1", payload(1, BASE_MS, True)),
    ]
    for number in range(work.messages - 1):
        ts = BASE_MS + (number + 1) * 1000
        messages.append(
            ("spBv1.0/bench/DDATA/edge-1/pump-1", payload((number + 2) % 256, ts, False))
        )
    return messages


def _publish(port: int, kind: str, messages: int, points: int, go: Any) -> None:
    """The publisher process: build the messages, wait for ``go``, publish at QoS 1."""
    work = Workload(kind, messages, points)
    payloads = _json_messages(work) if kind == "json" else _sparkplug_messages(work)
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    go.wait()
    infos = [client.publish(topic, body, 1) for topic, body in payloads]
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def _start_publisher(port: int, work: Workload) -> tuple[multiprocessing.Process, Any]:
    go = multiprocessing.Event()
    process = multiprocessing.Process(
        target=_publish, args=(port, work.kind, work.messages, work.points, go)
    )
    process.start()
    time.sleep(1.0)  # let it build its payloads and connect
    return process, go


def raw_ceiling(broker: Broker, work: Workload) -> float:
    """Points/s of the publisher to a subscriber that only counts messages."""
    topic = "bench/#" if work.kind == "json" else "spBv1.0/bench/#"
    expected = work.messages + (1 if work.kind == "sparkplug" else 0)  # and the NBIRTH
    count = 0
    done = threading.Event()

    def counted(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        nonlocal count
        count += 1
        if count >= expected:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = counted
    client.connect("127.0.0.1", broker.port)
    client.subscribe(topic, 1)
    client.loop_start()
    time.sleep(0.3)
    process, go = _start_publisher(broker.port, work)
    started = time.perf_counter()
    go.set()
    done.wait(300)
    elapsed = time.perf_counter() - started
    process.join(60)
    client.disconnect()
    client.loop_stop()
    return work.total / elapsed


def _register(site: Site, paths: list[tuple[str, str, str]]) -> None:
    site.registry.ensure(
        [SeriesSpec(path, asset, signal, "", "benchmark") for path, asset, signal in paths]
    )


def _source(site: Site, broker: Broker, work: Workload) -> FieldSource:
    prefix = f"{site.config.site.name}/bench/line-1"
    common = {
        "prefix": prefix,
        "port": broker.port,
        "client_id": f"bench-{work.kind}-{uuid.uuid4().hex[:8]}",
        "session_expiry": 0,  # no session outliving a run, to queue the next run's messages
        "batch_messages": BATCH_MESSAGES,
    }
    if work.kind == "json":
        _register(
            site,
            [(f"{prefix}/{a}/{s}", a, s) for a, s in (_series(i) for i in range(SERIES))],
        )
        point = {"topic": "bench/{asset}/{signal}", "series": "{asset}/{signal}"}
        return MqttSource(
            MqttSpec.model_validate({"name": "bench", "kind": "mqtt", **common, "points": [point]})
        )
    _register(
        site, [(f"{prefix}/pump-1/m{i:03d}", "pump-1", f"m{i:03d}") for i in range(work.points)]
    )
    point = {"metric": "bench/edge-1/{device}/{metric}", "series": "{device}/{metric}"}
    spec = {"name": "bench", "kind": "sparkplug", **common, "groups": ["bench"], "points": [point]}
    return SparkplugHost(SparkplugSpec.model_validate(spec))


def end_to_end(broker: Broker, work: Workload) -> tuple[float, int, int]:
    """Points/s from the publisher through the connector into the store, points lost, and the
    number of deliveries the connector made of them."""
    with tempfile.TemporaryDirectory() as folder:
        site = open_site(PACK.site_file, folder)
        source = _source(site, broker, work)
        before = site.points.info()[0].points
        stored = deliveries = 0

        def ingest(gathered: Any) -> bool:
            nonlocal stored, deliveries
            deliveries += 1
            delivery: FieldDelivery = gathered.deliveries.pop()
            report = site.pipeline.ingest_readings(delivery, source.name)
            stored += report.points_inserted + report.points_replaced
            return stored >= work.total

        async def scenario() -> float:
            task = asyncio.create_task(gather_until(source, ingest, timeout=300))
            await wait_connected(source)
            process, go = await asyncio.to_thread(_start_publisher, broker.port, work)
            started = time.perf_counter()
            go.set()
            await task
            elapsed = time.perf_counter() - started
            await source.stop()
            await asyncio.to_thread(process.join, 60)
            return elapsed

        elapsed = asyncio.run(scenario())
        points = site.points.info()[0].points - before
        site.close()
    return points / elapsed, work.total - points, deliveries


def mqtt_rows(messages: int, points: int, repeat: int) -> list[Row]:
    """Raw ceiling and end to end for batched JSON and Sparkplug B, measured in turn ``repeat``
    times; the best of each is kept (the losses of every run are added up)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder), shipped_config).start()
        try:
            for kind in ("json", "sparkplug"):
                work = Workload(kind, messages, points)
                raws, runs = [], []
                for _ in range(repeat):
                    raws.append(raw_ceiling(broker, work))
                    runs.append(end_to_end(broker, work))
                raw = max(raws)
                e2e, _, deliveries = max(runs)
                lost = sum(run[1] for run in runs)
                name = "batched JSON" if kind == "json" else "Sparkplug B"
                rows.append(Row(name, work.total, raw, e2e, e2e / raw, lost, deliveries))
        finally:
            broker.stop()
    return rows


def outbox_rows(batches: int, points: int) -> list[Row]:
    """The edge outbox drained over HTTP into a central store, beside the central ingest alone."""
    measured = edge_outbox.measure(batches, points)
    return [
        Row(
            "edge outbox drain (HTTP; ceiling: central ingest alone)",
            int(measured["points"]),
            float(measured["direct_points_per_s"]),
            float(measured["drain_points_per_s"]),
            float(measured["ratio"]),
            int(measured["lost"]),
            int(measured["batches"]),
        )
    ]


SCENARIOS: list[Callable[[argparse.Namespace], list[Row]]] = [
    lambda args: mqtt_rows(args.messages, args.points_per_message, args.repeat),
    lambda args: outbox_rows(args.messages // 10, args.points_per_message * 10),
]
"""Each returns rows of the table."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--points-per-message", type=int, default=100)
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = parser.parse_args()
    rows = [row for scenario in SCENARIOS for row in scenario(args)]
    losses = {}
    for settings, config in (
        ("mosquitto defaults", default_config),
        ("valueloop.conf", shipped_config),
    ):
        for consumer, stall in (("slow", False), ("stalled", True)):
            with tempfile.TemporaryDirectory() as folder:
                losses[f"{consumer}, {settings}"] = consumer_loss(
                    Path(folder), config, args.burst, stall=stall, delivery_s=SLOW_DELIVERY_S
                )
    table = Table(title="MQTT ingest at QoS 1: publisher -> Mosquitto -> store (points/s)")
    for column in ("payload", "points", "raw ceiling", "end to end", "ratio", "lost", "deliveries"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.scenario,
            f"{row.points:,}",
            f"{row.raw_points_per_s:,.0f}",
            f"{row.e2e_points_per_s:,.0f}",
            f"{row.ratio:.2f}",
            f"{row.lost:,}",
            f"{row.deliveries:,}",
        )
    console = Console()
    console.print(table)
    losses_table = Table(title=f"QoS 1 consumer under a burst of {args.burst:,} messages: lost")
    losses_table.add_column("consumer, broker settings")
    losses_table.add_column("lost", justify="right")
    for name, lost in losses.items():
        losses_table.add_row(name, f"{lost:,}")
    console.print(losses_table)
    path = write_result(
        "ingest_mqtt",
        {
            "messages": args.messages,
            "points_per_message": args.points_per_message,
            "repeat": args.repeat,
            "batch_messages": BATCH_MESSAGES,
            "rows": [asdict(row) for row in rows],
            "consumer_loss": {
                "burst": args.burst,
                "delivery_s": SLOW_DELIVERY_S,
                "batch_messages": 100,
                "lost": losses,
            },
        },
    )
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
