"""``valueloop run``: a site's jobs over stored or replayed history, on a simulated clock."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from valueloop.cli.serve import DEFAULT_DATA_DIR
from valueloop.config import parse_duration
from valueloop.errors import ConfigError

console = Console()


def _instant(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError(f"{option} {text!r} is not an ISO 8601 time") from err
    if moment.tzinfo is None:
        raise ConfigError(f"{option} {text!r} has no time zone; add Z or +01:00")
    return moment.astimezone(UTC)


def run(
    start: Annotated[str, typer.Option("--from", help="Simulated start, ISO 8601 with a zone.")],
    until: Annotated[str, typer.Option("--until", help="Simulated end, ISO 8601 with a zone.")],
    site: Annotated[
        Path | None,
        typer.Option(help="The site.yaml (default: the copy kept in the data directory)."),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="The site's data directory.")] = DEFAULT_DATA_DIR,
    step: Annotated[
        str, typer.Option(help="Simulated time per tick (jobs due within it run once).")
    ] = "10s",
    fresh: Annotated[
        bool, typer.Option(help="Forget every job's watermark and run the period again.")
    ] = False,
    summary: Annotated[
        Path | None, typer.Option(help="Write the run's report as JSON to this file.")
    ] = None,
) -> None:
    """Run the site's analytics, alarms and rules over [--from, --until] as fast as possible."""
    from valueloop.engine.book import JobBook
    from valueloop.engine.build import open_engine
    from valueloop.engine.clock import SimulatedClock
    from valueloop.site import open_site, site_file_of

    first, last = _instant(start, "--from"), _instant(until, "--until")
    if last <= first:
        raise ConfigError(f"--until {until} is not after --from {start}")
    tick: timedelta = parse_duration(step)
    opened = open_site(site_file_of(site, data_dir), data_dir)
    try:
        if fresh:
            JobBook(opened.store).reset()
        engine = open_engine(opened, SimulatedClock(first))
        total = (last - first).total_seconds()
        with Progress(
            TextColumn("[bold]run"),
            BarColumn(),
            TextColumn("{task.fields[at]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("run", total=total, at="")

            def advance(now: datetime) -> None:
                progress.update(
                    task,
                    completed=(now - first).total_seconds(),
                    at=now.isoformat(timespec="seconds"),
                )

            report = engine.run_until(last, step=tick, progress=advance)
        result = {
            "from": first.isoformat(),
            "until": last.isoformat(),
            "jobs": [status.name for status in engine.statuses()],
            **asdict(report),
        }
        console.print_json(json.dumps(result, default=str))
        if summary is not None:
            summary.write_text(json.dumps(result, indent=2, default=str))
    finally:
        opened.close()
