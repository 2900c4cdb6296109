"""Producer and reader processes for the store-service test.

``python service_workers.py produce ADDRESS KEY FIRST COUNT`` writes batches FIRST..FIRST+COUNT-1;
``python service_workers.py read ADDRESS KEY SECONDS`` reads everything again and again and exits 1
if it ever sees a batch in part. Batches are those of ``crash_writer.numbered_batch``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from crash_writer import SERIES, STEPS, numbered_batch

from valueloop.store.writer import StoreClient


def produce(client: StoreClient, first: int, count: int) -> None:
    for number in range(first, first + count):
        report = client.write(numbered_batch(number))
        assert report.inserted == SERIES * STEPS


def read(client: StoreClient, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    reads = 0
    while time.monotonic() < deadline:
        values = client.read(list(range(1, SERIES + 1))).column("value").to_numpy()
        counts = np.bincount((values // 1e6).astype(np.int64))
        if np.any((counts != 0) & (counts != SERIES * STEPS)):
            print("saw a batch in part", flush=True)
            return 1
        reads += 1
    print(f"reads {reads}", flush=True)
    return 0


def main() -> None:
    role, address, key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    client = StoreClient(address, key)
    try:
        if role == "produce":
            produce(client, int(sys.argv[4]), int(sys.argv[5]))
        else:
            sys.exit(read(client, float(sys.argv[4])))
    finally:
        client.close()


if __name__ == "__main__":
    main()
