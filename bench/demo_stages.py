"""Demo benchmark: the aviation pack's site run through the engine, time per job and results.

Each run opens the pack's site in a fresh folder and steps its jobs over the pack's period on a
simulated clock, a planner approving the orders due within the approval window as the demo does.

Beside it, the wall time of the whole command a user types, ``valueloop demo --no-serve`` (start-up,
imports, the run and the summary), against the 15-17 s the loop took before it ran on the engine.
The CPU seconds of the run (all its threads) and of the command are recorded too: a machine busy
with other work inflates them far less than the wall time.

python bench/demo_stages.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.cli.demo import approve_due
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.packs.aviation import PACK
from valueloop.site import open_site


def run_once() -> dict[str, Any]:
    """One run of the pack's period in a fresh data directory: its summary and job seconds."""
    assert PACK.period is not None and PACK.summary is not None
    with tempfile.TemporaryDirectory() as folder:
        site = open_site(PACK.site_file, folder)
        started, cpu_started = time.perf_counter(), time.process_time()
        period = PACK.period(site)
        engine = open_engine(site, SimulatedClock(period.start))
        report = engine.run_until(
            period.until,
            step=period.step,
            progress=lambda now: approve_due(site, "bench-planner", now),
        )
        summary = PACK.summary(site)
        summary["total_seconds"] = time.perf_counter() - started
        summary["cpu_seconds"] = time.process_time() - cpu_started
        summary["job_seconds"] = {name: t.seconds for name, t in report.jobs.items()}
        site.close()
    return summary


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_seconds() -> tuple[float, float]:
    """Wall and CPU seconds of ``valueloop demo --no-serve`` in a fresh data directory."""
    with tempfile.TemporaryDirectory() as folder:
        started, cpu_started = time.perf_counter(), _children_cpu()
        subprocess.run(
            [sys.executable, "-m", "valueloop", "demo", "--no-serve"],
            cwd=folder,
            check=True,
            capture_output=True,
        )
        seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_started
        assert (Path(folder) / "valueloop-data").is_dir()
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()
    runs = [run_once() for _ in range(args.repeat)]
    commands = [command_seconds() for _ in range(args.repeat)]
    jobs = {
        job: statistics.median(run["job_seconds"][job] for run in runs)
        for job in runs[0]["job_seconds"]
    }
    total = statistics.median(run["total_seconds"] for run in runs)
    cpu = statistics.median(run["cpu_seconds"] for run in runs)
    last = runs[-1]
    table = Table(title=f"whole loop through the engine, C-MAPSS FD001 (median of {args.repeat})")
    table.add_column("job")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    for job, seconds in jobs.items():
        table.add_row(job, f"{seconds:.2f}", f"{seconds / total:.0%}")
    table.add_row("total", f"{total:.2f}", "100%")
    table.add_row("total, CPU seconds", f"{cpu:.2f}", "")
    command = statistics.median(wall for wall, _ in commands)
    command_cpu = statistics.median(used for _, used in commands)
    table.add_row("valueloop demo --no-serve (wall)", f"{command:.2f}", "")
    table.add_row("valueloop demo --no-serve (CPU)", f"{command_cpu:.2f}", "")
    Console().print(table)
    path = write_result(
        "demo_stages",
        {
            "repeat": args.repeat,
            "job_seconds_median": jobs,
            "job_seconds": [run["job_seconds"] for run in runs],
            "total_seconds_median": total,
            "total_seconds": [run["total_seconds"] for run in runs],
            "cpu_seconds_median": cpu,
            "command_seconds": [wall for wall, _ in commands],
            "command_seconds_median": command,
            "command_cpu_seconds": [used for _, used in commands],
            "command_cpu_seconds_median": command_cpu,
            "points_ingested": last["points_ingested"],
            "ingest_points_per_second": last["ingest_points_per_second"],
            "rul_rmse": last["rul_rmse"],
            "rul_phm_score": last["rul_phm_score"],
            "rul_interval_coverage": last["rul_interval_coverage"],
            "plan_status": last["plan_status"],
            "plan_solve_seconds": last["plan_solve_seconds"],
            "policies": last["policies"],
            "savings": last["savings"],
            "work_orders": last["work_orders"],
        },
    )
    Console().print(f"written {path}")


if __name__ == "__main__":
    main()
