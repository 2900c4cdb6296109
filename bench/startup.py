"""Start-up benchmark: how long the command line takes to answer, beside a bare interpreter.

Each command runs in a fresh process, ``--repeat`` times (median kept): ``python -c pass`` (the
floor no Python program goes under), ``python -c "import valueloop"``, ``valueloop --help`` and
``valueloop edge --help``. Ratios are to ``python -c pass``, so that a slower or busier machine
moves the floor and the commands together. The load average at the start is recorded: on a
busy machine every figure is higher.

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

from rich.console import Console
from rich.table import Table

from common import write_result

console = Console()


def commands() -> dict[str, list[str]]:
    """The measured commands, by name, run with this interpreter and its ``valueloop`` script."""
    python = sys.executable
    script = str(Path(python).parent / "valueloop")
    return {
        "python -c pass": [python, "-c", "pass"],
        "import valueloop": [python, "-c", "import valueloop"],
        "valueloop --help": [script, "--help"],
        "valueloop edge --help": [script, "edge", "--help"],
    }


def wall_seconds(argv: list[str]) -> float:
    """Wall-clock seconds of one run of ``argv``, which must succeed."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    runs = commands()
    for argv in runs.values():  # one unmeasured run each, so that every command meets warm caches
        wall_seconds(argv)
    medians = {
        name: statistics.median(wall_seconds(argv) for _ in range(args.repeat))
        for name, argv in runs.items()
    }
    floor = medians["python -c pass"]
    rows = [
        {"command": name, "median_s": round(median, 4), "ratio_to_python": round(median / floor, 1)}
        for name, median in medians.items()
    ]
    table = Table(title=f"Start-up, median of {args.repeat} (load {load[0]:.2f})")
    for column in ("command", "median s", "x python -c pass"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for row in rows:
        table.add_row(row["command"], f"{row['median_s']:.3f}", f"{row['ratio_to_python']:.1f}")
    console.print(table)
    path = write_result(
        "startup", {"repeat": args.repeat, "load_average_1min": round(load[0], 2), "rows": rows}
    )
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
