"""Start-up benchmark: how long the command line takes to answer, beside a bare interpreter.

Each command runs in a fresh process, ``--repeat`` times after one unmeasured run: ``python -c
pass`` (the floor no Python program goes under), ``python -c "import valueloop"``, ``valueloop
--help`` and ``valueloop edge --help``. Kept are the median wall-clock time, its ratio to ``python
-c pass`` and the median CPU time (user + system) of the process, which a busy machine inflates
less than the wall-clock time. The load average at the start is recorded too.

    python bench/startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common import write_result

console = Console()


def commands(python: str) -> dict[str, list[str]]:
    """The measured commands, by name, run with ``python`` and the ``valueloop`` beside it."""
    script = str(Path(python).parent / "valueloop")
    return {
        "python -c pass": [python, "-c", "pass"],
        "import valueloop": [python, "-c", "import valueloop"],
        "valueloop --help": [script, "--help"],
        "valueloop edge --help": [script, "edge", "--help"],
    }


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of ``argv``, which must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv} ended with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def medians(runs: dict[str, list[str]], repeat: int) -> list[dict[str, Any]]:
    """Per command: median wall and CPU seconds of ``repeat`` runs, wall as a ratio to the first."""
    rows = []
    for name, argv in runs.items():
        run_once(argv)  # unmeasured: every command meets warm file caches
        walls, cpus = zip(*(run_once(argv) for _ in range(repeat)), strict=True)
        rows.append(
            {"command": name, "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}
        )
    floor = rows[0]["wall_s"]
    return [
        {
            "command": row["command"],
            "median_wall_s": round(row["wall_s"], 4),
            "median_cpu_s": round(row["cpu_s"], 4),
            "ratio_to_first": round(row["wall_s"] / floor, 1),
        }
        for row in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = medians(commands(sys.executable), args.repeat)
    table = Table(title=f"Start-up, median of {args.repeat} (load average {load:.2f})")
    for column in ("command", "wall s", "x python -c pass", "CPU s"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for row in rows:
        table.add_row(
            row["command"],
            f"{row['median_wall_s']:.3f}",
            f"{row['ratio_to_first']:.1f}",
            f"{row['median_cpu_s']:.3f}",
        )
    console.print(table)
    path = write_result(
        "startup", {"repeat": args.repeat, "load_average_1min": round(load, 2), "rows": rows}
    )
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
