"""Fuzz the MQTT JSON decoder, the Sparkplug B host and the site.yaml reader for a fixed budget.

Each target (:mod:`targets`) is fuzzed with atheris, libFuzzer guided by the branches of valueloop
and PyYAML, starting from the corpus kept in ``bench/fuzz/corpus/<target>/``:

- a crash is any exception other than the target's documented refusal (dead letters, or a
  ``ConfigError`` for a site.yaml), a hang (an input still running after ``--timeout`` seconds),
  or libFuzzer's memory limit; each kind's first input is saved to the corpus (``crash-*``,
  ``timeout-*``, ``oom-*``) to be replayed by ``tests/fuzz/test_corpus.py`` once fixed;
- memory is bounded: a fresh process replays the corpus and every input the fuzzer found
  (:mod:`replay`); its peak RSS (``getrusage``) must stay within the baseline after one pass over
  the corpus plus 20 times the largest input plus 1 MiB;
- the corpus is minimised: the smallest inputs, found now or before, that reach code the seeds
  and regression inputs do not are kept (``cov-*``, at most ``--keep`` a target), so that it
  stays small.

Prints a table and writes ``bench/results/fuzz.json``; exits 1 if a target crashed or went over its
memory bound.

    python bench/fuzz/run.py [--seconds 60] [--runs 0] [--target mqtt_json ...] [--keep 40]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from targets import NAMES, TARGETS, corpus_files

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import write_result  # noqa: E402

RSS_LIMIT_MB = 2048
"""libFuzzer's own limit on the fuzzing process (which also holds libFuzzer's corpus)."""
MAX_STARTS = 20
"""Fuzzing processes a target may use up: one more after each hang or native crash."""


@dataclass
class Row:
    """One target's run."""

    target: str
    description: str
    refusal: str
    max_len: int
    runs: int = 0
    seconds: float = 0.0
    runs_per_second: float = 0.0
    coverage: int = 0
    corpus_files: int = 0
    corpus_added: int = 0
    corpus_dropped: int = 0
    crashes: int = 0
    crash_kinds: dict[str, Any] = field(default_factory=dict)
    fuzzer_peak_rss_mib: float = 0.0
    replay_inputs: int = 0
    replay_largest_input_bytes: int = 0
    replay_baseline_rss_mib: float = 0.0
    replay_peak_rss_mib: float = 0.0
    replay_bound_rss_mib: float = 0.0
    replay_largest_step: dict[str, Any] = field(default_factory=dict)
    replay_growth_by_pass_kib: list[int] = field(default_factory=list)
    memory_ok: bool = True
    regression_inputs: int = 0


def _fuzz(name: str, args: argparse.Namespace, work: Path, row: Row) -> None:
    """Run fuzzing processes until the budget is spent; gather their counts into ``row``."""
    new, crashes, artifacts = work / "new", work / "crashes", work / "artifacts"
    for folder in (new, crashes, artifacts):
        folder.mkdir()
    stats_path = work / "stats.json"
    for start in range(MAX_STARTS):
        seconds_left = args.seconds - row.seconds
        runs_left = args.runs - row.runs if args.runs else 0
        if seconds_left < 1 or (args.runs and runs_left <= 0):
            break
        command = [
            sys.executable,
            str(HERE / "worker.py"),
            name,
            f"--seconds={seconds_left}",
            f"--runs={runs_left}",
            f"--stats={stats_path}",
            f"--crashes={crashes}",
            f"--new={new}",
            f"-timeout={args.timeout}",
            f"-rss_limit_mb={RSS_LIMIT_MB}",
            f"-artifact_prefix={artifacts}/",
        ]
        if args.seed is not None:
            command.append(f"-seed={args.seed + start}")
        log = work / f"libfuzzer-{start}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=HERE,
                env={**os.environ, "TMPDIR": str(work)},  # it ends without cleaning up
            )
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        row.fuzzer_peak_rss_mib = max(row.fuzzer_peak_rss_mib, round(usage.ru_maxrss / 1024, 1))
        text = log.read_text(errors="replace")
        covered = re.findall(r"cov: (\d+)", text)
        row.coverage = max([row.coverage, *map(int, covered)])
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
        stats_path.unlink(missing_ok=True)
        row.runs += stats.get("runs", 0)
        row.seconds += stats.get("seconds", 0.0) or seconds_left  # a native crash: all spent
        for kind, found in stats.get("crashes", {}).items():
            known = row.crash_kinds.setdefault(kind, {**found, "count": 0})
            known["count"] += found["count"]
        for artifact in sorted(artifacts.iterdir()):
            kind = f"libFuzzer {artifact.name.split('-', 1)[0]} (exit {process.returncode})"
            row.crash_kinds.setdefault(kind, {"count": 0, "input": artifact.name})["count"] += 1
            shutil.move(artifact, crashes / artifact.name)
        if process.returncode != 0 and not any(crashes.iterdir()):
            raise SystemExit(f"{name}: the fuzzing process failed, see its log:\n{text[-3000:]}")
    row.crashes = len(row.crash_kinds)
    for path in crashes.iterdir():
        shutil.copy(path, HERE / "corpus" / name / path.name)


def _replay(name: str, args: argparse.Namespace, work: Path, row: Row) -> None:
    """Replay everything in a fresh process: the memory bound, and the inputs the corpus keeps."""
    found = subprocess.run(
        [
            sys.executable,
            str(HERE / "replay.py"),
            name,
            f"--found={work / 'new'}",
            f"--keep={args.keep}",
            f"--timeout={args.timeout}",
        ],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(found.stdout)
    row.replay_inputs = report["inputs"]
    row.replay_largest_input_bytes = report["largest_input_bytes"]
    row.replay_baseline_rss_mib = round(report["baseline_rss_kib"] / 1024, 1)
    row.replay_peak_rss_mib = round(report["peak_rss_kib"] / 1024, 1)
    row.replay_bound_rss_mib = round(report["bound_rss_kib"] / 1024, 1)
    row.memory_ok = report["peak_rss_kib"] <= report["bound_rss_kib"]
    row.replay_largest_step = report["largest_step"]
    row.replay_growth_by_pass_kib = report["growth_by_pass_kib"]
    row.corpus_added = len(report["kept"])
    row.corpus_dropped = len(report["dropped"])
    for input_name, what in report["failures"].items():
        if not input_name.startswith(("crash-", "timeout-", "oom-")):  # not counted yet
            row.crash_kinds.setdefault(f"replay: {what}", {"count": 1, "input": input_name})
    row.crashes = len(row.crash_kinds)


def fuzz_target(name: str, args: argparse.Namespace) -> Row:
    """Fuzz one target for the budget, replay, and extend its corpus."""
    target = TARGETS[name]
    row = Row(name, target.description, target.refusal, target.max_len)
    with tempfile.TemporaryDirectory(prefix=f"valueloop-fuzz-{name}-") as folder:
        _fuzz(name, args, Path(folder), row)
        _replay(name, args, Path(folder), row)
    row.runs_per_second = round(row.runs / row.seconds, 1) if row.seconds else 0.0
    row.seconds = round(row.seconds, 1)
    files = corpus_files(name)
    row.corpus_files = len(files)
    row.regression_inputs = sum(f.name.startswith(("crash-", "timeout-", "oom-")) for f in files)
    return row


def _table(rows: list[Row]) -> Table:
    table = Table(title="Fuzzing (atheris)")
    for column in (
        "target",
        "runs",
        "seconds",
        "runs/s",
        "corpus (+added -dropped)",
        "crashes",
        "peak RSS fuzzer MiB",
        "replay peak / bound MiB",
    ):
        table.add_column(column, justify="left" if column == "target" else "right")
    for row in rows:
        table.add_row(
            row.target,
            f"{row.runs:,}",
            f"{row.seconds:.0f}",
            f"{row.runs_per_second:,.0f}",
            f"{row.corpus_files} (+{row.corpus_added} -{row.corpus_dropped})",
            str(row.crashes),
            f"{row.fuzzer_peak_rss_mib:.0f}",
            f"{row.replay_peak_rss_mib:.1f} / {row.replay_bound_rss_mib:.1f}"
            + ("" if row.memory_ok else " OVER"),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per target")
    parser.add_argument("--runs", type=int, default=0, help="budget in inputs (0: seconds only)")
    parser.add_argument("--target", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument("--keep", type=int, default=40, help="cov-* files a corpus keeps")
    parser.add_argument("--timeout", type=int, default=10, help="seconds before an input hangs")
    parser.add_argument("--seed", type=int, default=None, help="libFuzzer's seed")
    args = parser.parse_args()
    console = Console(width=140)
    rows = []
    for name in args.target:
        console.print(f"fuzzing {name} for {args.seconds:.0f} s ...")
        rows.append(fuzz_target(name, args))
    console.print(_table(rows))
    path = write_result("fuzz", _document(args, rows))
    console.print(f"written {path}")
    for row in rows:
        for kind, found in row.crash_kinds.items():
            console.print(
                f"[red]{row.target}: {kind}[/red] x{found['count']}: {found.get('input')}"
            )
            if "traceback" in found:
                console.print(found["traceback"])
    if any(row.crashes or not row.memory_ok for row in rows):
        raise SystemExit(1)


def _document(args: argparse.Namespace, rows: list[Row]) -> dict[str, Any]:
    return {
        "benchmark": "fuzzing of the MQTT JSON decoder, the Sparkplug B host and the site.yaml "
        "reader with atheris (coverage-guided, libFuzzer)",
        "how_to_run": "python bench/fuzz/run.py --seconds 60",
        "settings": {
            "seconds_per_target": args.seconds,
            "runs_per_target": args.runs or None,
            "timeout_per_input_s": args.timeout,
            "libfuzzer_rss_limit_mb": RSS_LIMIT_MB,
            "seed": args.seed,
            "atheris": version("atheris"),
        },
        "definitions": {
            "crash": "an exception other than the target's refusal (column refusal), an input "
            "running longer than timeout_per_input_s, or libFuzzer's RSS limit; 0 expected",
            "runs": "inputs read in the fuzzing process (libFuzzer's first pass over the corpus "
            "included)",
            "coverage": "libFuzzer's count of instrumented valueloop and PyYAML branches reached",
            "corpus_files": "files in bench/fuzz/corpus/<target>/ after the run: seed-* (written "
            "by seeds.py), cov-* (found, adding coverage) and regression inputs",
            "corpus_added, corpus_dropped": "cov-* files this run added and removed when it "
            "minimised the corpus",
            "regression_inputs": "crash-*, timeout-* and oom-* files: inputs that once failed, "
            "replayed by tests/fuzz/test_corpus.py",
            "memory bound": "replay_peak_rss_mib <= replay_bound_rss_mib = "
            "replay_baseline_rss_mib + 20 x replay_largest_input_bytes + 1 MiB, measured with "
            "getrusage in a fresh process (without libFuzzer) that reads the corpus once for the "
            "baseline, then the corpus and every input the fuzzer found three times",
            "replay_largest_step": "the input whose reading raised the replay's peak RSS most, "
            "its size and that rise (KiB)",
            "replay_growth_by_pass_kib": "how much each of the three passes raised the peak RSS: "
            "memory kept from one read to the next would raise it in every pass",
            "fuzzer_peak_rss_mib": "peak RSS of the fuzzing process (libFuzzer's own corpus and "
            "tables included), for information",
        },
        "targets": [asdict(row) for row in rows],
    }


if __name__ == "__main__":
    main()
