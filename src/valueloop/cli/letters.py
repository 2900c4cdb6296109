"""``valueloop deadletter``: list the inputs that could not be stored; replay them after a fix."""

from __future__ import annotations

from typing import Annotated

import typer

from valueloop.cli.sitecmd import (
    DEFAULT_DATA_DIR,
    DEFAULT_SITE,
    DataDir,
    SiteFile,
    opened_site,
    print_rows,
)
from valueloop.connectors.base import connector_class
from valueloop.connectors.spec import ConnectorSpec, FieldConnectorSpec
from valueloop.ingest.replay import reparsers, replay_dead_letters

app = typer.Typer(help="Inputs that could not be stored.", no_args_is_help=True)

Source = Annotated[str | None, typer.Option("--source", help="Only letters of this connector.")]


@app.command("list")
def list_letters(
    limit: Annotated[int, typer.Option(help="How many of the newest letters.")] = 50,
    pending: Annotated[bool, typer.Option(help="Only letters not replayed yet.")] = False,
    source: Source = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Show the newest dead letters with their reason, and the counts by source and reason."""
    with opened_site(site, data_dir) as opened:
        table = opened.pipeline.dead_letters
        print_rows(
            table.counts(),
            {"source": "source", "reason": "reason", "letters": "letters", "pending": "pending"},
            "Dead letters by source and reason",
        )
        print_rows(
            table.list(limit, pending=pending, source=source),
            {
                "letter_id": "id",
                "received_at": "received",
                "source": "source",
                "reason": "reason",
                "raw": "raw input",
                "replayed_at": "replayed",
            },
            "Newest dead letters",
        )


def _build(spec: ConnectorSpec) -> object:
    if not isinstance(spec, FieldConnectorSpec):
        return None
    return connector_class(spec.kind)(spec)


@app.command("replay")
def replay(
    source: Source = None, data_dir: DataDir = DEFAULT_DATA_DIR, site: SiteFile = DEFAULT_SITE
) -> None:
    """Store again the letters whose cause was fixed (a series registered, a mapping corrected)."""
    with opened_site(site, data_dir) as opened:
        report = replay_dead_letters(
            opened.pipeline, reparsers(opened.config.connectors, _build), source=source
        )
    typer.echo(
        f"{report.examined} letters examined: {report.replayed} replayed "
        f"({report.readings_stored} readings stored), {report.pending} still pending"
    )
