"""Every input of the fuzzing corpus (``bench/fuzz/corpus/<target>/``) is read without a crash.

The corpus holds the seeds, the inputs the fuzzer found reaching new code, and every input that
once crashed, hung or ran out of memory; replaying it makes a regression on any of them fail here.
A target returns when the product read its input or refused it as documented (dead letters, a
``ConfigError``); anything else it raises fails the test.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "bench" / "fuzz"
SECONDS_PER_INPUT = 5.0
"""An input read more slowly than this hangs (the fuzzer's limit is 10 s)."""


def _targets() -> ModuleType:
    """``bench/fuzz/targets.py``, loaded by path: the benchmarks are scripts, not a package."""
    spec = importlib.util.spec_from_file_location("fuzz_targets", FUZZ / "targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


TARGETS = _targets()


@pytest.mark.parametrize("name", TARGETS.NAMES)
def test_every_corpus_input_is_read_or_refused(name: str) -> None:
    files = TARGETS.corpus_files(name)
    assert any(path.name.startswith("seed-") for path in files), "run bench/fuzz/seeds.py"
    read = TARGETS.TARGETS[name].load()
    failures = []
    for path in files:
        try:
            read(path.read_bytes())
        except Exception as err:
            failures.append(f"{path.name}: {type(err).__name__}: {err}")
    assert not failures, "\n".join(failures)
    for path in files:  # again, timed: the first pass imported what the target loads lazily
        started = time.perf_counter()
        read(path.read_bytes())
        seconds = time.perf_counter() - started
        if seconds > SECONDS_PER_INPUT:
            failures.append(f"{path.name}: read in {seconds:.1f} s")
    assert not failures, "\n".join(failures)


def test_seeds_cover_what_the_decoders_document() -> None:
    """The seeds carry the documented shapes: batched MQTT messages, a Sparkplug session."""
    batch = (FUZZ / "corpus" / "mqtt_json" / "seed-batch").read_bytes()
    topics = [topic for topic, _ in TARGETS.mqtt_records(batch)]
    assert {"plant/pump-1/flow", "plant/pump-2/temp", "plant/unmapped"} <= set(topics)
    session = (FUZZ / "corpus" / "sparkplug" / "seed-session").read_bytes()
    kinds = [topic.split("/")[2] for topic, _ in TARGETS.sparkplug_records(session)]
    assert kinds == ["NBIRTH", "DBIRTH", "NDATA", "DDATA", "DDATA", "DDEATH", "NDEATH"]
