"""The edge outbox's drain rate: batches kept on disk, forwarded over HTTP into a central store.

An outbox holds ``batches`` batches of ``points`` readings of 100 series (Arrow IPC, as the agent
writes them). A central ``valueloop`` API serves a fresh DuckDB site on a local port (uvicorn in a
thread), and the edge forwarder drains the outbox into it, each batch under its idempotency key.
The ceiling, measured in the same run, is the same batches stored by the central ingest directly
(``KeyedIngest.ingest``, no HTTP, no outbox) into another fresh site.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import uvicorn

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.connectors.base import readings
from valueloop.edge.config import HttpForward
from valueloop.edge.forward import HttpForwarder
from valueloop.edge.outbox import Outbox
from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site

SERIES = [f"plant/bench/line-1/pump-{i // 10:02d}/s{i % 10}" for i in range(100)]
START = datetime(2026, 1, 1, tzinfo=UTC)


def batch(number: int, points: int) -> pa.Table:
    """Batch ``number``: ``points`` readings spread over the 100 series, one second apart."""
    index = np.arange(number * points, (number + 1) * points)
    stamps = np.datetime64(START.replace(tzinfo=None), "us") + (index // 100) * np.timedelta64(
        1, "s"
    )
    return readings(
        [SERIES[i % 100] for i in index],
        pa.array(stamps, pa.timestamp("us", tz="UTC")),
        pa.array(np.sin(index / 50.0)),
    )


def _site(folder: Path) -> Site:
    site = open_site(PACK.site_file, folder)
    site.batches.register([(path, "", "") for path in SERIES])
    return site


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def direct_rate(folder: Path, batches: list[pa.Table]) -> float:
    """Readings per second of the central ingest alone, on the same batches."""
    site = _site(folder)
    started = time.perf_counter()
    for number, table in enumerate(batches):
        site.batches.ingest(table, source="bench", key=f"direct-{number}")
    elapsed = time.perf_counter() - started
    site.close()
    return sum(table.num_rows for table in batches) / elapsed


def drain_rate(folder: Path, batches: list[pa.Table]) -> tuple[float, int]:
    """Readings per second of the outbox drained over HTTP, and the readings the centre stored."""
    outbox = Outbox(folder / "outbox.sqlite", edge="bench")
    for table in batches:
        outbox.put("bench", table)
    site = _site(folder / "centre")
    os.environ["VALUELOOP_BENCH_TOKEN"] = issue_token(site.store, "bench-edge", "ingest")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(site), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    settings = HttpForward(
        kind="http", url=f"http://127.0.0.1:{port}", token_env="VALUELOOP_BENCH_TOKEN"
    )
    declared = [{"path": path, "unit": "", "description": ""} for path in SERIES]
    forwarder = HttpForwarder(settings, outbox, lambda: declared)
    started = time.perf_counter()
    while outbox.state().batches:
        forwarder.drain_once()
    elapsed = time.perf_counter() - started
    forwarder.close()
    server.should_exit = True
    thread.join(timeout=10)
    stored = sum(tier.points for tier in site.points.info())
    site.close()
    outbox.close()
    return sum(table.num_rows for table in batches) / elapsed, stored


def measure(batches: int, points: int) -> dict[str, float | int]:
    """Drain rate, direct rate, their ratio, and readings lost."""
    tables = [batch(number, points) for number in range(batches)]
    with tempfile.TemporaryDirectory() as folder:
        direct = direct_rate(Path(folder) / "direct", tables)
        drained, stored = drain_rate(Path(folder) / "edge", tables)
    total = batches * points
    return {
        "points": total,
        "direct_points_per_s": direct,
        "drain_points_per_s": drained,
        "ratio": drained / direct,
        "lost": total - stored,
        "batches": batches,
    }
