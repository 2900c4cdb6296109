"""The ``valueloop`` command line: a thin layer over the loop, the site books and the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valueloop.cli.demo import demo
from valueloop.cli.run import run
from valueloop.cli.serve import serve
from valueloop.errors import ValueloopError

app = typer.Typer(
    name="valueloop",
    help="valueloop: collect, store, analyse, optimise, act and account for value.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(demo)
app.command()(serve)
app.command()(run)

console = Console(stderr=True)


@app.command()
def validate(site: Annotated[Path, typer.Argument(help="A site.yaml to check.")]) -> None:
    """Check a site.yaml (every section, the references between them, units and analytic
    kinds) and print what it describes."""
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import load_site

    config = load_site(site, kinds=KINDS)
    assets = [path for spec in config.assets for path in spec.expand()]
    typer.echo(
        json.dumps(
            {
                "site": config.site.name,
                "assets": len(assets),
                "types": sorted(config.asset_types),
                "signals": sum(
                    len(config.asset_types[spec.type].signals) * len(spec.expand())
                    for spec in config.assets
                    if spec.type in config.asset_types
                ),
                "connectors": [c.name for c in config.connectors],
                "currency": config.site.currency,
            }
        )
    )


def _register_subcommands() -> None:
    from valueloop.cli import (
        audit,
        connect,
        edge,
        evaluation,
        letters,
        report,
        solve,
        store,
        users,
        workorders,
    )

    app.add_typer(users.app, name="users", help="API users and their tokens.")
    app.add_typer(store.app, name="store", help="The time-series store: its hot and cold tiers.")
    app.add_typer(workorders.app, name="workorders", help="Review and decide work orders.")
    app.add_typer(audit.app, name="audit", help="Verify the audit trail and the value ledger.")
    app.add_typer(connect.app, name="connect", help="Field servers and connector health.")
    app.add_typer(edge.app, name="edge", help="The edge agent: connectors, outbox, forwarding.")
    app.add_typer(letters.app, name="deadletter", help="Inputs that could not be stored.")
    app.command(name="report")(report.report)
    app.command(name="solve")(solve.solve)
    app.command(name="eval")(evaluation.evaluate)
    from valueloop.cli import init, schema

    app.add_typer(schema.app, name="schema", help="JSON Schemas of site.yaml and edge.yaml.")
    app.command(name="init")(init.init)


_register_subcommands()


def main() -> None:
    """Entry point of the ``valueloop`` console script; errors print as one clear line."""
    try:
        app()
    except ValueloopError as err:
        console.print(f"[bold red]error:[/] {err}", soft_wrap=True, highlight=False)
        raise SystemExit(2) from err
