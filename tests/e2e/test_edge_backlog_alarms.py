"""An edge agent's outage backlog, forwarded to the serving centre hours late, raises its alarms.

The centre is ``valueloop serve`` of a pump with a high-flow limit alarm, its engine on the real
clock, holding the pump's readings up to a link outage two hours ago. The edge's outbox holds ten
minutes of readings from the outage on, with the flow above its limit for a minute; the edge's
forwarder sends them, oldest first, as it does when the link comes back. The alarm is raised at
the reading's own time and cleared as the readings say, long after the engine's alarm job moved
past them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from tests.e2e.processes import server_of, wait_for

from valueloop.api.auth import issue_token
from valueloop.connectors.base import FieldDelivery, readings
from valueloop.edge.config import HttpForward
from valueloop.edge.forward import HttpForwarder
from valueloop.edge.outbox import Outbox
from valueloop.site import open_site

SERIES = "plant/utilities/loop-1/pump-0/flow"
SITE = """
site: {name: plant}
asset_types:
  pump:
    signals: {flow: {unit: l/min, expected_interval: 1s}}
    alarms:
      - {name: flow_high, signal: flow, limits: {hi: 120}, deadband: 5, on_delay: 5s,
         off_delay: 10s, priority: high}
assets:
  - {path: utilities/loop-1/pump-0, type: pump}
"""
TOKEN_ENV = "VALUELOOP_TEST_EDGE_TOKEN"


def flow(start: datetime, minutes: int, high: set[int] | None = None) -> list[pa.Table]:
    """``minutes`` of flow a second apart from ``start``, in one-minute batches as the agent keeps
    them: 100 l/min, 140 l/min during the minutes in ``high``."""
    batches = []
    for minute in range(minutes):
        stamps = [start + timedelta(minutes=minute, seconds=s) for s in range(60)]
        value = 140.0 if minute in (high or set()) else 100.0
        batches.append(
            readings(
                [SERIES] * 60,
                pa.array(stamps, pa.timestamp("us", tz="UTC")),
                pa.array([value] * 60, pa.float64()),
            )
        )
    return batches


@dataclass(frozen=True)
class Centre:
    """The serving centre's URL, an ingest token for the edge, a viewer token, and when its link
    to the edge went down."""

    base: str
    edge_token: str
    viewer: str
    outage: datetime


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[Centre]:
    """The centre serving, with the pump's readings up to the outage two hours ago."""
    outage = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    (tmp_path / "site.yaml").write_text(SITE)
    site = open_site(tmp_path / "site.yaml", tmp_path / "data")
    try:
        edge, viewer = (
            issue_token(site.store, "edge-1", "ingest"),
            issue_token(site.store, "eve", "viewer"),
        )
        for batch in flow(outage - timedelta(minutes=30), 30):
            site.pipeline.ingest_readings(FieldDelivery(batch), "edge-1")
    finally:
        site.close()
    with server_of(tmp_path / "data") as server:
        yield Centre(server.base, edge, viewer, outage)


def test_an_outage_backlog_from_the_edge_raises_and_clears_its_alarm_at_its_own_times(
    centre: Centre, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite", edge="edge-1")
    for batch in flow(centre.outage, 10, high={3}):
        outbox.put("loop-1", batch)
    monkeypatch.setenv(TOKEN_ENV, centre.edge_token)
    forwarder = HttpForwarder(
        HttpForward(kind="http", url=centre.base, token_env=TOKEN_ENV),
        outbox,
        lambda: [{"path": SERIES, "unit": "l/min", "description": "pump flow"}],
    )
    try:
        assert forwarder.drain_once() == 600
    finally:
        forwarder.close()

    def cleared() -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{centre.base}/api/alarms",
            params={"include_normal": "true"},
            headers={"Authorization": f"Bearer {centre.viewer}"},
        )
        answer.raise_for_status()
        return [alarm for alarm in answer.json() if alarm["cleared_at"]]

    (alarm,) = wait_for("the backlog's alarm", cleared, 30)
    assert alarm["name"] == "flow_high" and alarm["value_at_raise"] == 140.0
    raised_at = datetime.fromisoformat(alarm["raised_at"])
    assert raised_at == centre.outage + timedelta(minutes=3, seconds=5)  # its 5 s on-delay
    cleared_at = datetime.fromisoformat(alarm["cleared_at"])
    assert cleared_at == centre.outage + timedelta(minutes=4, seconds=10)  # its 10 s off-delay
