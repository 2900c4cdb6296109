"""One fuzzing process: atheris (libFuzzer) on one target until its budget of seconds or runs.

Started by ``run.py``, one process per target (and again after a hang or a native crash, which end
the process). The target's modules are imported instrumented, so that libFuzzer is guided by the
branches of valueloop and PyYAML. Every input goes through the target:

an exception escaping it is a crash. The first input of each kind of crash (exception type and
innermost valueloop line) is saved as ``crash-<sha1>`` in the crash folder, and fuzzing goes on.
Hangs and libFuzzer's memory limit end the process, libFuzzer saving the input.

Progress goes every half second (and at the end) to ``--stats`` as JSON: runs, seconds, crashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris
from targets import TARGETS


def signature(err: BaseException) -> str:
    """The kind of a crash: exception type and the innermost valueloop (else innermost) line."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return type(err).__name__
    frame = ([f for f in frames if "/valueloop/" in f.filename] or frames)[-1]
    return f"{type(err).__name__} at {frame.filename.rsplit('/src/', 1)[-1]}:{frame.lineno}"


class Session:
    """The state of one fuzzing process: budget, counters and the crashes found."""

    def __init__(self, args: argparse.Namespace, read: Callable[[bytes], None]) -> None:
        self.args = args
        self.read = read
        self.runs = 0
        self.crashes: dict[str, dict[str, Any]] = {}
        self.started = time.monotonic()
        self.deadline = self.started + args.seconds
        self.next_stats = 0.0

    def run(self, data: bytes) -> None:
        """Read one input; a crash is recorded (its input saved if it is a new kind)."""
        try:
            self.read(data)
        except Exception as err:
            kind = signature(err)
            found = self.crashes.setdefault(kind, {"count": 0})
            found["count"] += 1
            if found["count"] == 1:
                name = f"crash-{hashlib.sha1(data).hexdigest()}"
                (self.args.crashes / name).write_bytes(data)
                lines = traceback.format_exception(err)
                found.update(input=name, error=str(err)[:300], traceback="".join(lines[-6:]))
                self.write_stats()

    def fuzz_one(self, data: bytes) -> None:
        """libFuzzer's callback: read, then check the budget."""
        self.runs += 1
        self.run(data)
        now = time.monotonic()
        if now >= self.deadline or (self.args.runs and self.runs >= self.args.runs):
            self.finish()
        if now >= self.next_stats:
            self.next_stats = now + 0.5
            self.write_stats()

    def write_stats(self) -> None:
        stats = {
            "runs": self.runs,
            "seconds": round(time.monotonic() - self.started, 3),
            "crashes": self.crashes,
        }
        temporary = self.args.stats.with_suffix(".tmp")
        temporary.write_text(json.dumps(stats, indent=2))
        temporary.replace(self.args.stats)

    def finish(self) -> None:
        self.write_stats()
        sys.stdout.flush()
        os._exit(0)  # libFuzzer's loop never returns; the stats are written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--runs", type=int, default=0, help="0: no limit")
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--crashes", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True, help="where libFuzzer adds inputs")
    args, libfuzzer = parser.parse_known_args()
    target = TARGETS[args.target]
    with atheris.instrument_imports(include=["valueloop", "yaml"]):
        read = target.load()
    corpus = Path(__file__).resolve().parent / "corpus" / args.target
    session = Session(args, read)
    atheris.Setup(
        [sys.argv[0], f"-max_len={target.max_len}", *libfuzzer, str(args.new), str(corpus)],
        session.fuzz_one,
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
