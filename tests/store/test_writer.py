"""Several producer processes and readers share the embedded store through one writer service."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.store.crash_writer import SERIES, STEPS

from valueloop.errors import StoreError
from valueloop.store.duckdb import DuckDBStore
from valueloop.store.writer import StoreClient, StoreService

WORKERS = Path(__file__).with_name("service_workers.py")
PRODUCERS = 3
BATCHES_EACH = 15


def test_producers_and_readers_share_one_writer(tmp_path: Path) -> None:
    key = secrets.token_hex(16).encode()
    address = str(tmp_path / "store.sock")
    store = DuckDBStore(tmp_path / "shared.duckdb")
    service = StoreService(store, address, key).start()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    run = [sys.executable, str(WORKERS)]
    try:
        readers = [
            subprocess.Popen(
                [*run, "read", address, key.decode(), "4"],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        producers = [
            subprocess.Popen(
                [
                    *run,
                    "produce",
                    address,
                    key.decode(),
                    str(i * BATCHES_EACH),
                    str(BATCHES_EACH),
                ],
                env=env,
            )
            for i in range(PRODUCERS)
        ]
        assert [p.wait(timeout=120) for p in producers] == [0] * PRODUCERS
        outputs = [r.communicate(timeout=60)[0] for r in readers]
        assert [r.returncode for r in readers] == [0, 0], outputs
        assert all(out.startswith("reads ") and int(out.split()[1]) > 0 for out in outputs)
    finally:
        service.close()
    values = store.read(list(range(1, SERIES + 1))).column("value").to_numpy()
    counts = np.bincount((values // 1e6).astype(np.int64))
    assert counts.tolist() == [SERIES * STEPS] * (PRODUCERS * BATCHES_EACH)
    store.close()


def test_a_client_without_the_key_or_service_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store service"):
        StoreClient(str(tmp_path / "absent.sock"), b"key")
    address = str(tmp_path / "guarded.sock")
    store = DuckDBStore(tmp_path / "guarded.duckdb")
    service = StoreService(store, address, b"right-key").start()
    try:
        with pytest.raises(StoreError, match="refused the key"):
            StoreClient(address, b"wrong-key")
        client = StoreClient(address, b"right-key")
        assert client.read([1]).num_rows == 0
        client.close()
    finally:
        service.close()
        store.close()
