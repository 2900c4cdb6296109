"""``valueloop demo``: the whole loop on the aviation pack, then the console until Ctrl-C."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from valueloop.api.auth import issue_token
from valueloop.cli.serve import serve_site
from valueloop.loop import STAGES, Loop
from valueloop.packs.base import get_pack
from valueloop.site import COLD_FOLDER, Site, open_site, store_path

console = Console()


def _summary_table(summary: dict[str, Any]) -> Table:
    currency = summary["currency"]
    table = Table(title="valueloop demo: C-MAPSS FD001 fleet", show_lines=False)
    table.add_column("stage")
    table.add_column("result")
    table.add_row(
        "collect",
        f"{summary['points_ingested']:,} points stored from {summary['engines']} engines, "
        f"{summary['dead_letters']} dead letters",
    )
    table.add_row(
        "analyse",
        f"RUL RMSE {summary['rul_rmse']:.2f} cycles, PHM08 score {summary['rul_phm_score']:.0f}, "
        f"{summary['rul_interval_nominal']:.0%} interval covers "
        f"{summary['rul_interval_coverage']:.0%}",
    )
    table.add_row(
        "optimise",
        f"CP-SAT {summary['plan_status']}, {summary['plan_overhauls']} overhauls planned, "
        f"expected cost {summary['plan_objective']:,.0f} {currency}, gap {summary['plan_gap']:.2%}",
    )
    orders = ", ".join(f"{n} {status}" for status, n in sorted(summary["work_orders"].items()))
    table.add_row("act", f"work orders: {orders}")
    for name, outcome in summary["policies"].items():
        table.add_row(
            f"account: {name.replace('_', ' ')}",
            f"{outcome['cost']:,.0f} {currency}, {outcome['failures']} failures, "
            f"availability {outcome['availability']:.2%}",
        )
    for name, saving in summary["savings"].items():
        table.add_row(
            f"saving vs {name.replace('_', ' ')}",
            f"[bold green]{saving['money']:,.0f} {currency} ({saving['percent']:.1f} %)[/]",
        )
    return table


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its store.")] = Path(
        "valueloop-data"
    ),
    pack: Annotated[str, typer.Option(help="Sector pack to run.")] = "aviation",
    serve: Annotated[bool, typer.Option(help="Serve the console and API afterwards.")] = True,
    summary: Annotated[
        Path | None, typer.Option(help="Write the run's summary as JSON to this file.")
    ] = None,
    approve_as: Annotated[
        str, typer.Option(help="Planner approving the orders due this week ('' for none).")
    ] = "demo-planner",
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Replay the C-MAPSS FD001 fleet through every stage of the loop and show the result."""
    config = get_pack(pack).site()
    database = store_path(config, data_dir)
    for stale in (database, database.with_name(database.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(data_dir / COLD_FOLDER, ignore_errors=True)
    site = open_site(config, data_dir)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<9}"),
        BarColumn(),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks = {stage: progress.add_task(stage, total=1, message="waiting") for stage in STAGES}

        def report(stage: str, message: str) -> None:
            done = message.startswith("done")
            progress.update(tasks[stage], message=message, completed=1 if done else 0)

        result = Loop(site, approve_as=approve_as or None, progress=report).run()
    console.print(_summary_table(result))
    if summary is not None:
        summary.write_text(json.dumps(result, indent=2, sort_keys=True))
        console.print(f"summary written to {summary}")
    if serve:
        _serve(site, host, port)
    site.close()


def _serve(site: Site, host: str, port: int) -> None:
    token = issue_token(site.store, "demo", "admin")
    console.print(
        f"\nconsole: [bold]http://{host}:{port}/?token={token}[/]\n"
        f"API docs: http://{host}:{port}/docs (Authorization: Bearer <token>)\n"
        "token for user 'demo' (admin), shown once; Ctrl-C stops the server",
        soft_wrap=True,
    )
    serve_site(site, host, port)
