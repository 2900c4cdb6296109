"""Demo benchmark: time per stage of the whole loop on the aviation pack, with its results.

python bench/demo_stages.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.loop import STAGES, Loop
from valueloop.packs.aviation import PACK
from valueloop.site import open_site


def run_once() -> dict[str, Any]:
    """One full loop in a fresh data directory."""
    with tempfile.TemporaryDirectory() as folder:
        site = open_site(PACK.site_file, folder)
        started = time.perf_counter()
        summary = Loop(site, approve_as="bench-planner").run()
        summary["total_seconds"] = time.perf_counter() - started
        site.close()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()
    runs = [run_once() for _ in range(args.repeat)]
    stages = {
        stage: statistics.median(run["stage_seconds"][stage] for run in runs) for stage in STAGES
    }
    total = statistics.median(run["total_seconds"] for run in runs)
    last = runs[-1]
    table = Table(title=f"whole loop, C-MAPSS FD001 (median of {args.repeat})")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    for stage, seconds in stages.items():
        table.add_row(stage, f"{seconds:.2f}", f"{seconds / total:.0%}")
    table.add_row("total", f"{total:.2f}", "100%")
    Console().print(table)
    path = write_result(
        "demo_stages",
        {
            "repeat": args.repeat,
            "stage_seconds_median": stages,
            "total_seconds_median": total,
            "points_ingested": last["points_ingested"],
            "ingest_points_per_second": last["ingest_points_per_second"],
            "rul_rmse": last["rul_rmse"],
            "rul_phm_score": last["rul_phm_score"],
            "rul_interval_coverage": last["rul_interval_coverage"],
            "plan_status": last["plan_status"],
            "plan_solve_seconds": last["plan_solve_seconds"],
            "policies": last["policies"],
            "savings": last["savings"],
        },
    )
    Console().print(f"written {path}")


if __name__ == "__main__":
    main()
