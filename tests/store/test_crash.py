"""A writer killed with SIGKILL mid-stream loses no acknowledged batch and stores none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from tests.services import POSTGRES_URL, need_service
from tests.store.crash_writer import SERIES, STEPS, numbered_batch

from valueloop.store import open_store

WRITER = Path(__file__).with_name("crash_writer.py")
KILL_AFTER_ACKS = 15


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.services)])
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "duckdb":
        yield "duckdb:///crash.duckdb"
        return
    need_service("PostgreSQL", "127.0.0.1", 5432)
    from valueloop.store.postgres import drop_schema

    schema = f"vl_crash_{uuid.uuid4().hex[:10]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    drop_schema(POSTGRES_URL, schema)


def _kill_mid_stream(url: str, data_dir: Path) -> int:
    """Start the writer, SIGKILL it after some acknowledgements; return the last batch acked."""
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), url, str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    last = -1
    for line in writer.stdout:
        last = int(line.split()[1])
        if last + 1 >= KILL_AFTER_ACKS:
            break
    writer.send_signal(signal.SIGKILL)  # while it writes the next batches
    for line in writer.stdout:  # acknowledgements printed before the kill landed
        last = int(line.split()[1])
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    return last


def test_acknowledged_batches_survive_sigkill_exactly_once(store_url: str, tmp_path: Path) -> None:
    last_acked = _kill_mid_stream(store_url, tmp_path)
    store = open_store(store_url, tmp_path)
    try:
        points = store.read(list(range(1, SERIES + 1)))
        batch_of_point = (points.column("value").to_numpy() // 1e6).astype(np.int64)
        counts = np.bincount(batch_of_point)
        for number in range(last_acked + 1):
            assert counts[number] == SERIES * STEPS, f"acknowledged batch {number} incomplete"
        for number in range(last_acked + 1, len(counts)):  # not acknowledged: all or nothing
            assert counts[number] in (0, SERIES * STEPS), f"batch {number} stored in part"
        pairs = pc.binary_join_element_wise(
            pc.cast(points.column("series_id"), "string"),
            pc.cast(pc.cast(points.column("ts"), "int64"), "string"),
            "/",
        )
        assert pc.count_distinct(pairs).as_py() == points.num_rows
        rewrite = store.write(numbered_batch(0))  # restart is idempotent
        assert (rewrite.inserted, rewrite.replaced) == (0, SERIES * STEPS)
    finally:
        store.close()
