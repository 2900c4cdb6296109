"""Scheduling benchmark: job-shop (Lawrence la01-la40, Taillard ta01-ta30) and flexible job-shop
(Brandimarte mk01-mk10), the shop scheduler beside the textbook CP-SAT model with default
parameters, in the same run.

Each instance is solved twice at the same time limit and workers: by :class:`ShopScheduler` and by
its ``textbook=True`` twin. The score is the gap of the makespan found to the best-known upper
bound of ``data/opt/*/bounds.csv``, ``100 * (makespan - best_known) / best_known``; every schedule
is checked by :func:`validate_shop_plan`. Targets at 60 s and 2 workers: mean gap <= 0.5 % on la,
<= 3 % on ta01-30, <= 2 % on mk01-10.

    python bench/opt_scheduling.py [--time-limit 60] [--workers 2] [--only la01 ta21 mk10]
        [--keep bench/results/earlier.json ...]

With ``--keep``, the rows of earlier runs at the same settings are kept and only the missing
instances (or those named by ``--only``) are solved: the full sets take about two hours and can be
run in parts.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from statistics import fmean
from typing import Any

from rich.console import Console
from rich.table import Table

from common import choice, earlier_rows, write_result
from valueloop.datasets import data_dir
from valueloop.errors import OptimizeError
from valueloop.optimize.scheduling import ShopScheduler, load_shop_problem, validate_shop_plan

SECTIONS: dict[tuple[str, str], tuple[list[str], float]] = {
    ("jsp", "la"): ([f"la{i:02d}" for i in range(1, 41)], 0.5),
    ("jsp", "ta01_30"): ([f"ta{i:02d}" for i in range(1, 31)], 3.0),
    ("fjsp", "mk01_10"): ([f"mk{i:02d}" for i in range(1, 11)], 2.0),
}
"""(kind, set) -> (instances, target mean gap in %)."""


def _path(kind: str, name: str) -> Path:
    if kind == "fjsp":
        return data_dir() / "opt" / "fjsp" / "brandimarte" / f"{name}.fjs"
    return data_dir() / "opt" / "jsp" / "instances" / f"{name}.txt"


def _best_known(kind: str) -> dict[str, int]:
    with (data_dir() / "opt" / kind / "bounds.csv").open() as handle:
        return {row["instance"]: int(row["upper_bound"]) for row in csv.DictReader(handle)}


def _attempt(scheduler: ShopScheduler, kind: str, name: str, best: int) -> dict[str, Any]:
    problem = load_shop_problem(_path(kind, name))
    try:
        plan = scheduler.solve(problem)
    except OptimizeError as err:
        return {
            "objective": None,
            "bound": None,
            "gap_pct": None,
            "seconds": scheduler.time_limit,
            "status": "NO_PLAN",
            "error": str(err),
        }
    violations = validate_shop_plan(problem, plan)
    return {
        "objective": plan.objective,
        "bound": plan.best_bound,
        "gap_pct": 100.0 * (plan.objective - best) / best,
        "seconds": round(plan.solve_seconds, 2),
        "status": plan.status if not violations else "INVALID",
        "violations": violations[:3],
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows]
    return None if not values or None in values else round(fmean(values), 3)


def run(
    time_limit: float,
    workers: int,
    instances: list[str] | None,
    earlier: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Solve the benchmark sets (or the ``instances`` among them) with both models.

    ``earlier``: rows of earlier runs at the same settings, by instance; they are kept for the
    instances not named in ``instances`` (all others are solved), and the sets are summarised over
    kept and new rows together.
    """
    earlier = earlier or {}
    ours = ShopScheduler(time_limit=time_limit, workers=workers)
    plain = ShopScheduler(time_limit=time_limit, workers=workers, textbook=True)
    result: dict[str, Any] = {"time_limit": time_limit, "workers": workers}
    for (kind, section), (names, target) in SECTIONS.items():
        rows = []
        best_known = _best_known(kind)
        for name in names:
            action = choice(name, instances, earlier)
            if action == "keep":
                rows.append(earlier[name])
            elif action == "solve":
                rows.append(_row(ours, plain, kind, name, best_known[name]))
        if rows:
            result.setdefault(kind, {})[section] = {
                "mean_gap_pct": _mean(rows, "gap_pct"),
                "plain_mean_gap_pct": _mean(rows, "plain_gap_pct"),
                "target_mean_gap_pct": target,
                "complete": len(rows) == len(names),
                "instances": rows,
            }
    return result


def _row(
    ours: ShopScheduler, plain: ShopScheduler, kind: str, name: str, best: int
) -> dict[str, Any]:
    mine = _attempt(ours, kind, name, best)
    textbook = _attempt(plain, kind, name, best)
    Console().print(
        f"{name}: {mine['objective']} (plain {textbook['objective']}), best known {best}"
    )
    return {
        "instance": name,
        "best_known": best,
        **mine,
        **{f"plain_{key}": value for key, value in textbook.items()},
    }


def rows_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every instance row of a scheduling result document."""
    return [
        row
        for kind in ("jsp", "fjsp")
        for block in document.get(kind, {}).values()
        for row in block["instances"]
    ]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print(result: dict[str, Any]) -> None:
    table = Table(
        title=f"scheduling: gap to best known makespan (%), {result['time_limit']:g} s, "
        f"{result['workers']} workers"
    )
    for column in ("set", "instance", "best known", "ours", "gap %", "bound", "textbook", "gap %"):
        table.add_column(column, justify="right")
    for kind in ("jsp", "fjsp"):
        for section, block in result.get(kind, {}).items():
            for row in block["instances"]:
                table.add_row(
                    section,
                    row["instance"],
                    str(row["best_known"]),
                    _fmt(row["objective"], 0),
                    _fmt(row["gap_pct"]),
                    _fmt(row["bound"], 0),
                    _fmt(row["plain_objective"], 0),
                    _fmt(row["plain_gap_pct"]),
                )
            table.add_row(
                section,
                "mean",
                "",
                "",
                _fmt(block["mean_gap_pct"]),
                "",
                "",
                _fmt(block["plain_mean_gap_pct"]),
                end_section=True,
            )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers")
    parser.add_argument("--only", nargs="*", help="instances to run (default: all)")
    parser.add_argument(
        "--keep", nargs="*", type=Path, default=[], help="earlier result files whose rows to keep"
    )
    parser.add_argument(
        "--output", default="opt_scheduling", help="result name under bench/results/"
    )
    args = parser.parse_args()
    settings = {"time_limit": args.time_limit, "workers": args.workers}
    earlier = earlier_rows(args.keep, settings, rows_of)
    result = run(args.time_limit, args.workers, args.only, earlier)
    _print(result)
    path = write_result(args.output, result)
    Console().print(f"written {path}")


if __name__ == "__main__":
    main()
