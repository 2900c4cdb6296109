"""A producer that writes numbered batches to a store and acknowledges each after its write.

Run as ``python crash_writer.py URL DATA_DIR``; prints ``ack K`` once batch K is stored. The crash
test kills it with SIGKILL mid-stream and checks what the store holds afterwards.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from valueloop.schema import POINT_SCHEMA
from valueloop.store import open_store

SERIES = 50
STEPS = 200
BATCHES = 100_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def numbered_batch(number: int) -> pa.Table:
    """Batch ``number``: SERIES x STEPS points, value = number * 1e6 + position."""
    base = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    steps = np.arange(STEPS, dtype=np.int64)
    stamps = base + (number * STEPS + steps) * 1_000_000
    return pa.table(
        {
            "series_id": pa.array(np.repeat(np.arange(1, SERIES + 1, dtype=np.int32), STEPS)),
            "ts": pa.array(np.tile(stamps, SERIES), pa.timestamp("us", tz="UTC")),
            "value": pa.array(number * 1e6 + np.arange(SERIES * STEPS, dtype=np.float64)),
            "quality": pa.array(np.zeros(SERIES * STEPS, dtype=np.uint8)),
        },
        schema=POINT_SCHEMA,
    )


def main() -> None:
    store = open_store(sys.argv[1], Path(sys.argv[2]))
    print("ready", flush=True)
    for number in range(BATCHES):
        store.write(numbered_batch(number))
        print(f"ack {number}", flush=True)


if __name__ == "__main__":
    main()
