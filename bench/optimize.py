"""All the optimisation benchmarks in one run, written to ``bench/results/optimize.json``.

Each part runs at its issue's time limit per instance (shop scheduling 60 s, routing 30 s, power
60 s, the production-and-maintenance line 20 s), beside its plain model, and is scored against the
published best-known values; the sections are those of each part's own script
(``opt_scheduling.py``, ``opt_routing.py``, ``opt_power.py``, ``opt_joint.py``), merged:
``{"jsp", "fjsp", "cvrp", "vrptw", "dcopf", "dispatch", "joint"}``.

    python bench/optimize.py [--parts scheduling routing power joint] [--scale 1.0]

``--scale`` multiplies every time limit (e.g. 0.25 for a quick look; the README's table is at 1).
``--from-results`` composes the same file from each part's last ``bench/results/opt_<part>.json``
without solving (the parts can be run, and resumed, one by one with their own scripts).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

import opt_joint
import opt_power
import opt_routing
import opt_scheduling
from common import RESULTS, write_result

Part = Callable[[float, int, list[str] | None], dict[str, Any]]

PARTS: dict[str, tuple[Part, float, int]] = {
    "scheduling": (opt_scheduling.run, 60.0, 2),
    "routing": (opt_routing.run, 30.0, 1),
    "power": (opt_power.run, 60.0, 1),
    "joint": (opt_joint.run, 40.0, 2),
}
"""Each part: its run function, time limit per instance (s) and workers."""


FAMILIES = ("jsp", "fjsp", "cvrp", "vrptw", "dcopf", "dispatch", "joint")
"""The sections of ``optimize.json``, as each part's own script writes them."""


def _measure(name: str, scale: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run part ``name`` now: its result and how it was measured."""
    run, limit, workers = PARTS[name]
    started = time.perf_counter()
    Console().rule(f"{name}: {limit * scale:g} s per instance, {workers} workers")
    section = run(limit * scale, workers, None)
    seconds = round(time.perf_counter() - started, 1)
    return section, {"time_limit_s": limit * scale, "workers": workers, "seconds": seconds}


def _recorded(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Part ``name`` as its own script last wrote it (``bench/results/opt_<name>.json``)."""
    path = RESULTS / f"opt_{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run bench/opt_{name}.py first")
    section = json.loads(path.read_text())
    settings = {
        key: section[key] for key in ("time_limit", "time_limit_s", "workers") if key in section
    }
    return section, {"measured": section["date"], **settings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="*", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every time limit")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="compose from the parts' last result files instead of solving",
    )
    arguments = parser.parse_args()
    merged: dict[str, Any] = {"parts": {}}
    for name in arguments.parts:
        section, how = (
            _recorded(name) if arguments.from_results else _measure(name, arguments.scale)
        )
        merged.update({key: section[key] for key in FAMILIES if key in section})
        merged["parts"][name] = how
    path = write_result("optimize", merged)
    Console().print(summary(merged))
    Console().print(f"written to {path}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} %"


def summary(merged: dict[str, Any]) -> Table:
    """The headline of every part: mean gaps to best-known, beside the plain model's."""
    table = Table(title="optimisation against published best-known values")
    for column in ("set", "instances", "ours", "plain model", "target"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for family in ("jsp", "fjsp", "cvrp"):
        for name, section in (merged.get(family) or {}).items():
            table.add_row(
                f"{family} {name}",
                str(len(section["instances"])),
                _pct(section["mean_gap_pct"]),
                _pct(section["plain_mean_gap_pct"]),
                f"<= {section['target_mean_gap_pct']:g} %",
            )
    vrptw = merged.get("vrptw") or {}
    if vrptw:
        table.add_row(
            "vrptw Solomon",
            str(len(vrptw["instances"])),
            f"vehicles <= BKS+1 {vrptw['vehicles_within_bks_plus_1_share']:.0%}, "
            f"distance {_pct(vrptw['mean_distance_gap_pct_where_vehicles_match'])} where equal",
            "",
            f"100 %, <= {vrptw['target_distance_gap_pct']:g} %",
        )
    for case, row in (merged.get("dcopf") or {}).items():
        table.add_row(
            f"dcopf {case}", "1", f"{row['objective']:.2f}", "", f"{row['published']:.2f}"
        )
    joint = merged.get("joint") or {}
    if joint:
        table.add_row(
            "joint line",
            str(len(joint["scenarios"])),
            f"saving {joint['mean_saving_pct']:.1f} %",
            "(maintenance first)",
            "",
        )
    return table


if __name__ == "__main__":
    main()
