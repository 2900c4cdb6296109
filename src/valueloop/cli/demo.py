"""``valueloop demo``: a pack's site run through the engine on a simulated clock, then served.

The demo wipes the site's store, opens the pack's site and steps the site's jobs (the pack's among
them) over the pack's period as fast as the machine allows, with a progress bar. A planner named by
``--approve-as`` approves, as the simulated time passes, each proposed work order due within the
site's approval window, as a person at the console would. The pack's summary is then printed and,
unless ``--no-serve``, the site is served on the real clock until Ctrl-C.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from valueloop.act.workorders import OrderStatus
from valueloop.api.auth import issue_token
from valueloop.cli.serve import serve_site
from valueloop.config import SiteConfig
from valueloop.errors import ConfigError
from valueloop.packs.base import Pack, get_pack
from valueloop.site import COLD_FOLDER, Site, open_site, store_path
from valueloop.store.seal import ANCHOR_FILE

console = Console()


def _summary_table(pack: Pack, summary: dict[str, Any]) -> Table:
    table = Table(title=f"valueloop demo: {pack.name} ({pack.description})", show_lines=False)
    table.add_column("stage")
    table.add_column("result")
    rows = pack.summary_rows(summary) if pack.summary_rows is not None else []
    for stage, result in rows:
        table.add_row(stage, result)
    return table


def approve_due(site: Site, actor: str, now: datetime) -> int:
    """Approve, as ``actor``, the proposed orders due before ``now`` plus the approval window."""
    window_end = now + site.config.policy.approve_within
    due = [
        order
        for order in site.work_orders.list(OrderStatus.PROPOSED).to_pylist()
        if order["due_at"] < window_end
    ]
    desk = site.actions
    for order in due:
        desk.approve(
            order["order_id"],
            actor=actor,
            role="approver",
            comment="due within the approval window",
        )
    return len(due)


def _wipe(config: SiteConfig, data_dir: Path) -> None:
    """Remove the site's store (database, its write-ahead log, the anchors of its sealed logs,
    the cold tier) under ``data_dir``; the audit key stays."""
    database = store_path(config, data_dir)
    anchors = data_dir / ANCHOR_FILE
    for stale in (database, database.with_name(database.name + ".wal"), anchors):
        stale.unlink(missing_ok=True)
    shutil.rmtree(data_dir / COLD_FOLDER, ignore_errors=True)


def run_pack(site: Site, pack: Pack, approve_as: str | None) -> dict[str, Any]:
    """Run the engine over the pack's period with a progress bar; return the run's summary."""
    from valueloop.engine.build import open_engine
    from valueloop.engine.clock import SimulatedClock

    if pack.period is None:
        raise ConfigError(f"pack {pack.name!r} has no period to run its demo over")
    period = pack.period(site)
    engine = open_engine(site, SimulatedClock(period.start))
    total = (period.until - period.start).total_seconds()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[at]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(pack.name, total=total, at="")

        def tick(now: datetime) -> None:
            if approve_as:
                approve_due(site, approve_as, now)
            progress.update(
                task,
                completed=(now - period.start).total_seconds(),
                at=now.isoformat(timespec="minutes"),
            )

        report = engine.run_until(period.until, step=period.step, progress=tick)
    summary = pack.summary(site) if pack.summary is not None else {}
    summary["engine"] = {
        "from": period.start.isoformat(),
        "until": period.until.isoformat(),
        "ticks": report.ticks,
        "runs": report.runs,
        "failures": report.failures,
        "seconds": round(report.seconds, 3),
    }
    summary["job_seconds"] = {name: round(t.seconds, 3) for name, t in report.jobs.items()}
    summary["job_failures"] = {
        status.name: status.last_error for status in engine.statuses() if status.last_error
    }
    return summary


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
        str, typer.Option(help="Planner approving the orders due within a week ('' for none).")
    ] = "demo-planner",
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Run a pack's site through every stage of the loop on a simulated clock; show the result."""
    chosen = get_pack(pack)
    _wipe(chosen.site(), data_dir)
    site = open_site(chosen.site_file, data_dir)
    try:
        result = run_pack(site, chosen, approve_as or None)
        console.print(_summary_table(chosen, result))
        if summary is not None:
            summary.write_text(json.dumps(result, indent=2, sort_keys=True, default=str))
            console.print(f"summary written to {summary}")
        if serve:
            _serve(site, host, port)
    finally:
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
