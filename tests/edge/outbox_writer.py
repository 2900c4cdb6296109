"""A process that puts numbered batches in an outbox and prints each key once put returned."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from valueloop.connectors.base import readings
from valueloop.edge.outbox import Outbox

START = datetime(2026, 1, 1, tzinfo=UTC)


def batch(number: int, size: int = 100) -> pa.Table:
    """Batch ``number``: ``size`` readings of one series, a second apart."""
    stamps = [START + timedelta(seconds=number * size + i) for i in range(size)]
    return readings(
        ["plant/area/line/pump/flow"] * size,
        pa.array(stamps, pa.timestamp("us", tz="UTC")),
        pa.array([float(number * size + i) for i in range(size)]),
    )


def main(path: str) -> None:
    outbox = Outbox(path, edge="writer")
    number = 0
    while True:
        key = outbox.put("pump", batch(number))
        print(number, key, flush=True)
        number += 1


if __name__ == "__main__":
    main(sys.argv[1])
