"""``valueloop report``: the latest run as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from valueloop.cli.sitecmd import DEFAULT_DATA_DIR, DEFAULT_SITE, DataDir, SiteFile, opened_site
from valueloop.report import write_report


def report(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: report.html in the data folder)."),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Write the latest run's report: headline figures, charts, plan and value ledger."""
    with opened_site(site, data_dir) as opened:
        path = write_report(opened, out if out is not None else opened.data_dir / "report.html")
    typer.echo(f"report written to {path}")
