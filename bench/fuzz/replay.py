"""Replay inputs through a target in a fresh process: the memory bound, and what the corpus keeps.

Run by ``run.py`` after each target's fuzzing, apart from libFuzzer, whose own memory (its corpus,
its mutation tables) grows while it runs and would blur the product's:

1. The target reads the corpus once (warming up what it loads lazily); the peak RSS then
   (``getrusage``) is the baseline.
2. It reads every input :data:`PASSES` times, the corpus and those the fuzzer found; the peak RSS
   must stay within the baseline plus :data:`MEMORY_FACTOR` times the largest input plus
   :data:`MEMORY_SLACK_KIB`. An input still running after ``--timeout`` seconds is a hang.
3. The corpus is minimised: of its ``cov-*`` inputs and those the fuzzer found, the smallest
   that reach lines (line-to-line arcs of valueloop and PyYAML code) that the seeds, the
   regression inputs and the inputs chosen before them do not are kept as ``cov-<sha1>``, at most
   ``--keep``; the other ``cov-*`` files are removed.

    python bench/fuzz/replay.py TARGET --found DIR --keep 40 --timeout 10
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from targets import CORPUS, TARGETS, corpus_files

MEMORY_FACTOR = 20
"""Peak RSS may exceed the baseline by this many times the largest input..."""
MEMORY_SLACK_KIB = 1024
"""...plus one pymalloc arena (1 MiB), the step in which the interpreter's memory grows."""
PASSES = 3
"""Times every input is read again: memory kept from one read to the next would add up."""
TRACED = ("/valueloop/", "/yaml/")
"""Code whose arcs count when choosing what the corpus keeps."""

Arc = tuple[str, int, int]


class Hang(Exception):
    """An input still being read after the timeout."""


def peak_rss_kib() -> int:
    """The process's peak resident set size so far, KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


class Replay:
    """Inputs read with a timeout: those that raised or hung, and the one that raised the peak
    RSS most."""

    def __init__(self, read: Callable[[bytes], None], timeout: int) -> None:
        self.read = read
        self.timeout = timeout
        self.failures: dict[str, str] = {}
        self.largest_step = {"input": "", "bytes": 0, "rss_kib": 0}
        signal.signal(signal.SIGALRM, _alarm)

    def read_all(self, inputs: list[Path]) -> None:
        for path in inputs:
            data = path.read_bytes()
            before = peak_rss_kib()
            signal.alarm(self.timeout)
            try:
                self.read(data)
            except Hang:
                self.failures[path.name] = f"still running after {self.timeout} s"
            except Exception as err:
                self.failures[path.name] = f"{type(err).__name__}: {str(err)[:200]}"
            finally:
                signal.alarm(0)
            step = peak_rss_kib() - before
            if step > self.largest_step["rss_kib"]:
                self.largest_step = {"input": path.name, "bytes": len(data), "rss_kib": step}


def arcs(read: Callable[[bytes], None], data: bytes) -> set[Arc]:
    """The line-to-line arcs of valueloop and PyYAML code that reading ``data`` runs."""
    found: set[Arc] = set()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        filename = frame.f_code.co_filename
        if not any(part in filename for part in TRACED):
            return None
        previous = 0

        def step(frame: FrameType, event: str, arg: Any) -> Any:
            nonlocal previous
            if event == "line":
                found.add((filename, previous, frame.f_lineno))
                previous = frame.f_lineno
            return step

        return step

    sys.settrace(tracer)
    try:
        read(data)
    except Exception:
        pass  # a crash is reported by the replay; its arcs still count
    finally:
        sys.settrace(None)
    return found


def choose(
    read: Callable[[bytes], None], corpus: list[Path], found: list[Path], keep: int
) -> list[Path]:
    """The smallest inputs of ``found`` that each add arcs to those of ``corpus`` and of the
    inputs chosen before them, at most ``keep``."""
    covered: set[Arc] = set()
    for path in corpus:
        covered |= arcs(read, path.read_bytes())
    chosen: list[Path] = []
    if keep <= 0:
        return chosen
    for path in sorted(found, key=lambda p: (p.stat().st_size, p.name)):
        new = arcs(read, path.read_bytes()) - covered
        if new:
            chosen.append(path)
            covered |= new
            if len(chosen) == keep:
                break
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--found", type=Path, required=True, help="inputs the fuzzer found")
    parser.add_argument("--keep", type=int, default=40, help="cov-* files kept at most")
    parser.add_argument("--timeout", type=int, default=10)
    args = parser.parse_args()
    target = TARGETS[args.target]
    read = target.load()
    corpus = corpus_files(args.target)
    found = sorted(path for path in args.found.iterdir() if path.is_file())
    Replay(read, args.timeout).read_all(corpus)
    baseline = peak_rss_kib()
    replay = Replay(read, args.timeout)
    growth = []
    for _ in range(PASSES):
        replay.read_all(corpus + found)
        growth.append(peak_rss_kib() - baseline - sum(growth))
    peak = peak_rss_kib()
    failures = replay.failures
    largest = max(path.stat().st_size for path in corpus + found)
    bound = baseline + MEMORY_FACTOR * largest // 1024 + MEMORY_SLACK_KIB
    fixed = [path for path in corpus if not path.name.startswith("cov-")]
    candidates = [path for path in corpus + found if path not in fixed]
    chosen = choose(read, fixed, [p for p in candidates if p.name not in failures], args.keep)
    names = {f"cov-{hashlib.sha1(path.read_bytes()).hexdigest()}": path for path in chosen}
    dropped = [path.name for path in corpus if path not in fixed and path.name not in names]
    for name in dropped:
        (CORPUS / args.target / name).unlink()
    kept = [name for name in names if not (CORPUS / args.target / name).exists()]
    for name in kept:
        (CORPUS / args.target / name).write_bytes(names[name].read_bytes())
    report = {
        "inputs": len(corpus) + len(found),
        "largest_input_bytes": largest,
        "baseline_rss_kib": baseline,
        "peak_rss_kib": peak,
        "bound_rss_kib": bound,
        "growth_by_pass_kib": growth,
        "largest_step": replay.largest_step,
        "failures": failures,
        "kept": kept,
        "dropped": dropped,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
