"""The outbox keeps every batch it accepted, through a SIGKILL, until it is confirmed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
from tests.edge.outbox_writer import batch

from valueloop.edge.outbox import Outbox
from valueloop.schema import dead_letters

ROOT = Path(__file__).resolve().parents[2]


def test_batches_survive_a_killed_writer(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.edge.outbox_writer", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    acknowledged = {}
    for line in writer.stdout:
        number, key = line.split()
        acknowledged[key] = int(number)
        if len(acknowledged) == 200:
            os.kill(writer.pid, signal.SIGKILL)
            break
    writer.wait(timeout=10)
    outbox = Outbox(path, edge="writer")
    kept = {item.key: item for item in outbox.oldest(10_000)}
    assert set(acknowledged) <= set(kept)
    for key, number in acknowledged.items():
        assert kept[key].table().equals(batch(number))
    outbox.close()


def test_removed_refused_and_dead_letters(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite", edge="edge-1")
    rejected = dead_letters("line", pa.array(["{bad"]), pa.array(["payload is not JSON"]))
    keys = [outbox.put("line", batch(n), rejected if n == 0 else None) for n in range(3)]
    assert all(key is not None and key.startswith("edge-1-") for key in keys)
    assert len(set(keys)) == 3
    state = outbox.state()
    assert (state.batches, state.readings, state.dead_letters) == (3, 300, 1)
    first, second, third = outbox.oldest(10)
    outbox.remove([first.seq])
    outbox.refuse(second, "422: malformed")
    assert [item.key for item in outbox.oldest(10)] == [third.key]
    seqs, letters = outbox.dead_letters(10)
    assert letters.column("reason").to_pylist() == ["payload is not JSON"]
    outbox.forget_dead_letters(seqs)
    state = outbox.state()
    assert (state.batches, state.refused, state.dead_letters) == (1, 1, 0)
    assert outbox.put("line", batch(0).slice(0, 0)) is None
    outbox.close()
