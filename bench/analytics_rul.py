"""Analytics benchmark: RUL on C-MAPSS FD001-FD004 and plant output on CCPP.

python bench/analytics_rul.py [--kind ensemble] [--subsets FD001 FD002 ...] [--skip-ccpp]

RUL follows the usual protocol (target capped at 125 cycles, scored at the last cycle of each test
engine against the published true RUL); CCPP uses the data set's 5x2-fold cross-validation.
Writes bench/results/analytics_rul.json.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from common import write_result
from valueloop.analytics.plant_output import evaluate_ccpp
from valueloop.datasets.cmapss import SUBSETS
from valueloop.datasets.rul_benchmark import KINDS, Kind, evaluate_rul_all, rul_model

# Targets of the analytics issue: RMSE in cycles per subset, RMSE in MW on CCPP.
RUL_TARGETS = {"FD001": 12.0, "FD002": 15.0, "FD003": 12.0, "FD004": 16.0}
CCPP_TARGET_MW = 3.0


def _reporter(progress: Progress, task: TaskID) -> Any:
    def report(name: str, done: int, total: int) -> None:
        progress.update(task, completed=done, total=total, description=name or "done")

    return report


def run(
    kind: Kind = "ensemble", subsets: tuple[str, ...] = SUBSETS, ccpp: bool = True
) -> dict[str, Any]:
    """Evaluate ``kind`` on ``subsets`` and the CCPP model; timings in seconds."""
    results: dict[str, Any] = {"kind": kind}
    with Progress() as progress:
        started = time.perf_counter()
        rul_task = progress.add_task("RUL", total=len(subsets))
        results["rul"] = evaluate_rul_all(
            lambda subset: rul_model(subset, kind), subsets, _reporter(progress, rul_task)
        )
        results["rul_seconds"] = time.perf_counter() - started
        if ccpp:
            started = time.perf_counter()
            ccpp_task = progress.add_task("CCPP", total=10)
            results["ccpp"] = evaluate_ccpp(progress=_reporter(progress, ccpp_task))
            results["ccpp_seconds"] = time.perf_counter() - started
    return results


def _print(results: dict[str, Any]) -> None:
    table = Table(title=f"RUL on C-MAPSS ({results['kind']}), cycles")
    for column in ("subset", "RMSE", "target", "RMSE capped truth", "PHM08", "coverage", "fit s"):
        table.add_column(column, justify="right")
    for subset, row in results["rul"].items():
        table.add_row(
            subset,
            f"{row['rmse']:.2f}",
            f"{RUL_TARGETS[subset]:.1f}",
            f"{row['rmse_capped']:.2f}",
            f"{row['phm_score']:.0f}",
            f"{row['coverage']:.2f}",
            f"{row['fit_seconds']:.0f}",
        )
    console = Console()
    console.print(table)
    console.print(f"RUL total: {results['rul_seconds']:.0f} s")
    if "ccpp" in results:
        ccpp = results["ccpp"]
        console.print(
            f"CCPP 5x2-fold: RMSE {ccpp['rmse']:.3f} MW (target {CCPP_TARGET_MW}), "
            f"MAE {ccpp['mae']:.3f} MW, {results['ccpp_seconds']:.0f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=KINDS, default="ensemble")
    parser.add_argument("--subsets", nargs="+", choices=SUBSETS, default=list(SUBSETS))
    parser.add_argument("--skip-ccpp", action="store_true")
    args = parser.parse_args()
    results = run(args.kind, tuple(args.subsets), not args.skip_ccpp)
    _print(results)
    Console().print(f"written {write_result('analytics_rul', results)}")


if __name__ == "__main__":
    main()
