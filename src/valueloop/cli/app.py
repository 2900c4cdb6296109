"""The ``valueloop`` command line: a thin layer over the loop, the site books and the API.

Each subcommand is named and summarised here and imported only when it runs
(:mod:`valueloop.cli.lazy`), so ``valueloop --help`` answers at once and a lean install runs the
edge agent without the platform's packages.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from valueloop.cli.extras import platform_hint
from valueloop.cli.lazy import LazyGroup, Subcommand
from valueloop.errors import ValueloopError


class _Subcommands(LazyGroup):
    subcommands = (
        Subcommand(
            "demo",
            "valueloop.cli.demo:demo",
            "Run a pack's site through every stage of the loop on a simulated clock; show the "
            "result.",
        ),
        Subcommand(
            "serve",
            "valueloop.cli.serve:serve",
            "Run a site: read its field, run its analytics, alarms and rules, serve its API.",
        ),
        Subcommand(
            "run",
            "valueloop.cli.run:run",
            "Run the site's analytics, alarms and rules over [--from, --until] as fast as "
            "possible.",
        ),
        Subcommand(
            "validate",
            "valueloop.cli.validate:validate",
            "Check a site.yaml and print what it describes.",
        ),
        Subcommand(
            "report",
            "valueloop.cli.report:report",
            "Write the latest run's report: headline figures, charts, plan and value ledger.",
        ),
        Subcommand(
            "solve",
            "valueloop.cli.solve:solve",
            "Optimise a job-shop, routing, unit commitment, DC OPF or line FILE; bound shown live.",
        ),
        Subcommand(
            "eval",
            "valueloop.cli.evaluation:evaluate",
            "Score the analytics on the public data sets the way their fields score them.",
        ),
        Subcommand(
            "init",
            "valueloop.cli.init:init",
            "Write a commented starter site.yaml that validates as written.",
        ),
        Subcommand("users", "valueloop.cli.users:app", "API users and their tokens."),
        Subcommand(
            "store", "valueloop.cli.store:app", "The time-series store: its hot and cold tiers."
        ),
        Subcommand("workorders", "valueloop.cli.workorders:app", "Review and decide work orders."),
        Subcommand(
            "audit", "valueloop.cli.audit:app", "Verify the audit trail and the value ledger."
        ),
        Subcommand(
            "statement",
            "valueloop.cli.statement:statement",
            "Write a contract's signed savings statement for a period, as HTML and PDF.",
        ),
        Subcommand(
            "adjustments",
            "valueloop.cli.adjustments:app",
            "Non-routine adjustments of measurement baselines.",
        ),
        Subcommand("connect", "valueloop.cli.connect:app", "Field servers and connector health."),
        Subcommand(
            "edge", "valueloop.cli.edge:app", "The edge agent: connectors, outbox, forwarding."
        ),
        Subcommand("deadletter", "valueloop.cli.letters:app", "Inputs that could not be stored."),
        Subcommand(
            "schema", "valueloop.cli.schema:app", "JSON Schemas of site.yaml and edge.yaml."
        ),
    )


app = typer.Typer(
    cls=_Subcommands, name="valueloop", no_args_is_help=True, pretty_exceptions_enable=False
)
console = Console(stderr=True)


@app.callback()
def valueloop() -> None:
    """valueloop: collect, store, analyse, optimise, act and account for value."""


def _print_error(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)


def main() -> None:
    """Entry point of the ``valueloop`` console script; errors print as one clear line."""
    try:
        app()
    except ValueloopError as err:
        _print_error(str(err))
        raise SystemExit(2) from err
    except ModuleNotFoundError as err:
        hint = platform_hint(err)
        if hint is None:
            raise
        _print_error(hint)
        raise SystemExit(2) from err
