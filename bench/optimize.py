"""All the optimisation benchmarks in one run, written to ``bench/results/optimize.json``.

Each part runs at its issue's time limit per instance (shop scheduling 60 s, routing 30 s, power
60 s, the production-and-maintenance line 60 s), beside its plain model, and is scored against the
published best-known values; the sections are those of each part's own script
(``opt_scheduling.py``, ``opt_routing.py``, ``opt_power.py``, ``opt_joint.py``), merged:
``{"jsp", "fjsp", "cvrp", "vrptw", "dcopf", "dispatch", "joint"}``.

    python bench/optimize.py [--parts scheduling routing power joint] [--scale 1.0]

``--scale`` multiplies every time limit (e.g. 0.25 for a quick look; the README's table is at 1).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

import opt_joint
import opt_power
import opt_routing
import opt_scheduling
from common import write_result

Part = Callable[[float, int, list[str] | None], dict[str, Any]]

PARTS: dict[str, tuple[Part, float, int]] = {
    "scheduling": (opt_scheduling.run, 60.0, 2),
    "routing": (opt_routing.run, 30.0, 1),
    "power": (opt_power.run, 60.0, 1),
    "joint": (opt_joint.run, 60.0, 2),
}
"""Each part: its run function, time limit per instance (s) and workers."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="*", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every time limit")
    arguments = parser.parse_args()
    console = Console()
    merged: dict[str, Any] = {"time_limits_s": {}, "seconds": {}}
    for name in arguments.parts:
        run, limit, workers = PARTS[name]
        started = time.perf_counter()
        console.rule(f"{name}: {limit * arguments.scale:g} s per instance, {workers} workers")
        section = run(limit * arguments.scale, workers, None)
        merged.update({key: value for key, value in section.items() if key != "instances"})
        merged[f"{name}_instances"] = section.get("instances", [])
        merged["time_limits_s"][name] = limit * arguments.scale
        merged["seconds"][name] = round(time.perf_counter() - started, 1)
    path = write_result("optimize", merged)
    console.print(summary(merged))
    console.print(f"written to {path}")


def _gap(section: dict[str, Any]) -> str:
    mean = section.get("mean_gap_pct")
    plain = section.get("plain_mean_gap_pct")
    if mean is None:
        return "-"
    return f"{mean:.2f}%" + ("" if plain is None else f" (plain {plain:.2f}%)")


def summary(merged: dict[str, Any]) -> Table:
    """The headline of every part: mean gaps to best-known, beside the plain model's."""
    table = Table(title="optimisation against published best-known values")
    for column in ("set", "ours (plain)"):
        table.add_column(column)
    for family in ("jsp", "fjsp", "cvrp"):
        for name, section in (merged.get(family) or {}).items():
            if isinstance(section, dict):
                table.add_row(f"{family} {name}", _gap(section))
    vrptw = merged.get("vrptw") or {}
    if vrptw:
        table.add_row(
            "vrptw Solomon",
            f"vehicles <= BKS+1: {vrptw.get('vehicles_within_bks_plus_1_share')}, distance gap "
            f"{vrptw.get('mean_distance_gap_pct_where_vehicles_match')}% where vehicles match",
        )
    for case, row in (merged.get("dcopf") or {}).items():
        if isinstance(row, dict) and "objective" in row:
            table.add_row(f"dcopf {case}", f"{row['objective']:.2f} vs {row['published']:.2f}")
    joint = merged.get("joint") or {}
    if joint:
        table.add_row("joint line", f"mean saving {joint.get('mean_saving_pct')}%")
    return table


if __name__ == "__main__":
    main()
