"""A killed and restarted edge agent decodes Sparkplug data by alias with the births it kept in
its outbox, without asking the edge node to be born again.

The agent is ``valueloop edge run``, the broker Mosquitto with the shipped configuration and the
edge node the Sparkplug simulator; the centre is not running, so what the agent read stays in its
outbox.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.connectors.brokers import PREFIX, Broker, Counter
from tests.connectors.peers import free_port
from tests.connectors.sparkplug_node import Simulator, stamp_ms, values

from valueloop.edge.births import OutboxBirths
from valueloop.edge.outbox import Outbox
from valueloop.schema import Quality

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = "line1-sparkplug"
HOST_ID = "press-shop-host"

Row = tuple[str, datetime, float]


def edge_yaml(folder: Path, broker_port: int) -> Path:
    """A Sparkplug host reading the simulator's node and device, forwarding to nowhere."""
    path = folder / "edge.yaml"
    path.write_text(
        f"""edge: {{name: press-shop-1}}
forward: {{kind: http, url: "http://127.0.0.1:{free_port()}", retry_min_s: 5}}
connectors:
  - name: {CONNECTOR}
    kind: sparkplug
    prefix: {PREFIX}
    port: {broker_port}
    host_id: {HOST_ID}
    groups: [line1]
    rebirth_interval: 0
    points:
      - {{metric: "line1/{{node}}//{{metric}}", series: "{{node}}/{{metric}}"}}
      - {{metric: "line1/+/{{device}}/{{metric}}", series: "{{device}}/{{metric}}"}}
"""
    )
    return path


def expected(steps: range) -> set[Row]:
    """The simulator's numeric metrics of rounds ``steps`` as the host reads them."""
    rows = set()
    for step in steps:
        now, at = values(step), datetime.fromtimestamp(stamp_ms(step) / 1000, UTC)
        rows |= {
            (f"{PREFIX}/edge-1/Temperature", at, now["Temperature"]),
            (f"{PREFIX}/pump-1/Outlet_Pressure", at, now["Outlet Pressure"]),
            (f"{PREFIX}/pump-1/Speed", at, float(now["Speed"])),
            (f"{PREFIX}/pump-1/Running", at, 1.0 if now["Running"] else 0.0),
        }
    return rows


def outbox_rows(path: Path) -> tuple[set[Row], int]:
    """The GOOD readings waiting in the outbox at ``path``, and its dead letters."""
    outbox = Outbox(path, edge="press-shop-1")
    try:
        rows = {
            (row["series"], row["ts"], round(row["value"], 6))
            for batch in outbox.oldest(10_000)
            for row in batch.table().to_pylist()
            if row["quality"] == Quality.GOOD
        }
        return rows, outbox.state().dead_letters
    finally:
        outbox.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Agent:
    """``valueloop edge run`` of the test's edge.yaml, killed and restarted at will."""

    def __init__(self, config: Path, data: Path, online: Counter) -> None:
        self.config, self.data, self.online = config, data, online
        self.process: subprocess.Popen[str] | None = None

    def _births_of_host(self) -> int:
        return sum(json.loads(payload)["online"] for payload in self.online.payloads)

    def start(self) -> None:
        """Start the agent; return once its host is subscribed (it says it is online after)."""
        births = self._births_of_host()
        command = ["edge", "run", str(self.config), "--data-dir", str(self.data)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "valueloop", *command],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "VALUELOOP_EDGE_TOKEN": "not-used"},
        )
        wait_for(lambda: self._births_of_host() > births, "the agent's host to be online")

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop the agent: SIGTERM, or SIGKILL for a crash."""
        if self.process is not None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Broker, Agent, Simulator]]:
    broker = Broker(tmp_path / "broker").start()
    online = Counter(broker.port, f"spBv1.0/STATE/{HOST_ID}")
    agent = Agent(edge_yaml(tmp_path, broker.port), tmp_path / "edge", online)
    simulator = Simulator(broker.port, deaf=True)  # a rebirth request would go unanswered
    try:
        yield broker, agent, simulator
    finally:
        agent.stop(signal.SIGKILL)
        simulator.close()
        online.close()
        broker.stop()


def test_a_restarted_agent_decodes_aliases_with_the_births_in_its_outbox(
    stack: tuple[Broker, Agent, Simulator],
) -> None:
    _, agent, simulator = stack
    outbox = agent.data / "outbox.sqlite"
    agent.start()
    simulator.send("birth")
    simulator.send("data 1")
    wait_for(lambda: outbox_rows(outbox)[0] == expected(range(2)), "the births and round 1")
    agent.stop(signal.SIGKILL)  # no chance to flush anything

    files = [outbox, outbox.with_name("outbox.sqlite-wal"), outbox.with_name("outbox.sqlite-shm")]
    assert [stat.S_IMODE(file.stat().st_mode) for file in files] == [0o600] * 3
    kept = OutboxBirths(Outbox(outbox, edge="press-shop-1")).births(CONNECTOR)
    assert [(b.group, b.edge_node, b.device) for b in kept] == [
        ("line1", "edge-1", ""),
        ("line1", "edge-1", "pump-1"),
    ]

    agent.start()
    simulator.send("data 3")  # by alias only, the node's seq carrying on
    wait_for(lambda: outbox_rows(outbox)[0] == expected(range(5)), "rounds 2 to 4 by name")
    agent.stop()
    assert outbox_rows(outbox) == (expected(range(5)), 0)  # nothing dead-lettered
    while not simulator.events.empty():
        simulator.seen.append(simulator.events.get())
    assert "rebirth" not in simulator.seen  # no NCMD asked for one: none was needed
