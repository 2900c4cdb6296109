"""``valueloop solve``: optimise a problem file (shop, routes, power) with a live incumbent line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from valueloop.cli.sitecmd import DEFAULT_DATA_DIR, DEFAULT_SITE, DataDir, SiteFile, opened_site
from valueloop.optimize.base import Plan

console = Console()

Progress = Callable[[float, float, float], None]
Solver = Callable[..., tuple[Any, Plan]]


class Kind(StrEnum):
    """The problem kinds ``valueloop solve`` reads."""

    JSP = "jsp"
    FJSP = "fjsp"
    CVRP = "cvrp"
    VRPTW = "vrptw"
    DISPATCH = "dispatch"
    DCOPF = "dcopf"
    JOINT = "joint"


def _solver(kind: Kind) -> Solver:
    """The file-solving function of ``kind`` (imported lazily: each pulls its solver library)."""
    if kind in (Kind.JSP, Kind.FJSP):
        from valueloop.optimize.scheduling.files import solve_shop_file

        return solve_shop_file
    if kind in (Kind.CVRP, Kind.VRPTW):
        from valueloop.optimize.routing.files import solve_routing_file

        return solve_routing_file
    if kind is Kind.DISPATCH:
        from valueloop.optimize.power.files import solve_dispatch_file

        return solve_dispatch_file
    if kind is Kind.DCOPF:
        from valueloop.optimize.power.files import solve_dcopf_file

        return solve_dcopf_file
    from valueloop.optimize.joint.files import solve_joint_file

    return solve_joint_file


def plan_rows(problem: Any, plan: Plan) -> list[dict[str, Any]]:
    """A plan's assignment rows, with each stop's coordinates added for route plans (a map)."""
    rows: list[dict[str, Any]] = plan.assignments.to_pylist()
    depot = getattr(problem, "depot", None)
    customers = getattr(problem, "customers", None)
    if depot is None or customers is None:
        return rows
    places = {customer.name: (customer.x, customer.y) for customer in customers}
    places[depot.name] = (depot.x, depot.y)
    for row in rows:
        row["x"], row["y"] = places.get(str(row.get("customer")), (None, None))
    return [{"vehicle": None, "customer": depot.name, "x": depot.x, "y": depot.y}, *rows]


def _line(elapsed: float, incumbent: float | None, bound: float | None, limit: float) -> Text:
    if incumbent is None:
        return Text(f"{elapsed:6.1f} s / {limit:g} s   searching for a first solution")
    gap = abs(incumbent - (bound or 0.0)) / max(abs(incumbent), 1e-9)
    return Text(
        f"{elapsed:6.1f} s / {limit:g} s   incumbent {incumbent:,.2f}   "
        f"bound {bound if bound is not None else float('nan'):,.2f}   gap {100 * gap:.2f}%"
    )


def _summary(kind: Kind, path: Path, plan: Plan) -> Table:
    table = Table(title=f"{kind.value} {path.name}", show_header=False)
    for name, value in (
        ("status", plan.status),
        ("objective", f"{plan.objective:,.2f}"),
        ("best bound", f"{plan.best_bound:,.2f}"),
        ("gap", f"{100 * plan.gap:.3f}%"),
        ("solve time", f"{plan.solve_seconds:.1f} s"),
        ("solver", plan.solver),
        ("assignments", f"{plan.assignments.num_rows} rows"),
    ):
        table.add_row(name, value)
    return table


def solve(
    kind: Annotated[Kind, typer.Argument(help="The kind of problem in FILE.")],
    file: Annotated[Path, typer.Argument(help="The instance or problem file.")],
    time_limit: Annotated[float, typer.Option(help="Seconds the solver may search.")] = 60.0,
    workers: Annotated[int, typer.Option(help="Parallel search workers.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed of the search.")] = 0,
    output: Annotated[
        Path | None, typer.Option(help="Write the plan (header and assignments) as JSON here.")
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Keep the plan in the site's books (API, report).")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Optimise FILE: job-shop (.txt), flexible job-shop (.fjs), CVRP (.vrp), VRPTW (Solomon
    .txt), unit commitment (fleet .yaml), DC OPF (pandapower case name or .json) or a line's
    production and maintenance (.yaml); the incumbent and bound show as the search goes."""
    started = time.perf_counter()
    state: dict[str, float | None] = {"incumbent": None, "bound": None}
    with Live(_line(0.0, None, None, time_limit), console=console, transient=True) as live:

        def progress(elapsed: float, incumbent: float, bound: float) -> None:
            state["incumbent"], state["bound"] = incumbent, bound
            live.update(_line(elapsed, incumbent, bound, time_limit))

        problem, plan = _solver(kind)(
            file, time_limit=time_limit, workers=workers, seed=seed, on_progress=progress
        )
    console.print(_summary(kind, file, plan))
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    if record:
        with opened_site(site, data_dir) as opened:
            plan_id = opened.plans.add_solution(
                plan, kind=kind.value, source=file.name, rows=plan_rows(problem, plan)
            )
        console.print(f"recorded as {plan_id} (GET /api/plans/{plan_id}/rows)")
    if output is not None:
        document = {
            "kind": kind.value,
            "file": str(file),
            "status": plan.status,
            "objective": plan.objective,
            "best_bound": plan.best_bound,
            "gap": plan.gap,
            "solve_seconds": plan.solve_seconds,
            "solver": plan.solver,
            "assignments": plan.assignments.to_pylist(),
        }
        output.write_text(json.dumps(document, indent=2, default=str))
        console.print(f"plan written to {output}")
