"""``valueloop adjustments``: non-routine adjustments of measurement plans' baselines.

``add`` records one as the user of the API token (an approver or an admin), in the audit trail;
the measurement job applies it at its next step, measuring the plan again if it was measured.
``list`` shows the adjustments recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from valueloop.api.auth import role_allows
from valueloop.cli.identity import TokenFile, cli_principal
from valueloop.cli.sitecmd import DEFAULT_DATA_DIR, DEFAULT_SITE, DataDir, SiteFile, opened_site
from valueloop.errors import ValueloopError
from valueloop.value.adjustments import ADJUSTMENT_KINDS, adjustments_of, record_adjustment
from valueloop.value.plans import PlanBook

app = typer.Typer(help="Non-routine adjustments of measurement baselines.", no_args_is_help=True)


def _moment(text: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueloopError(f"{text!r} is not an ISO 8601 time") from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


@app.command("add")
def add(
    plan: Annotated[str, typer.Option("--plan", help="The measurement plan's id (MV-...).")],
    kind: Annotated[str, typer.Option("--kind", help=", ".join(ADJUSTMENT_KINDS))],
    start: Annotated[
        str, typer.Option("--start", help="From, ISO 8601 (no zone: the site's time zone).")
    ],
    end: Annotated[str, typer.Option("--end", help="Until, excluded.")],
    amount: Annotated[
        float, typer.Option("--amount", help="Added to the baseline per interval, KPI unit.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
    token_file: TokenFile = None,
) -> None:
    """Record an adjustment of a plan's baseline as the token's user (approver or admin)."""
    with opened_site(site, data_dir) as opened:
        principal = cli_principal(opened.store, token_file)
        if not role_allows(principal.role, "approver"):
            typer.echo(f"refused: {principal.name} is {principal.role}; approver needed", err=True)
            raise typer.Exit(1)
        zone = ZoneInfo(opened.config.site.timezone)
        try:
            begins, ends = (_moment(text, zone) for text in (start, end))
            if PlanBook(opened.store).get(plan) is None:
                raise ValueloopError(f"no measurement plan {plan!r}")
            recorded = record_adjustment(
                opened.work_orders.audit,
                plan,
                kind=kind,
                start=begins,
                end=ends,
                amount=amount,
                reason=reason,
                actor=principal.name,
            )
        except ValueloopError as err:
            typer.echo(f"refused: {err}", err=True)
            raise typer.Exit(1) from err
    typer.echo(f"adjustment recorded: audit seq {recorded.seq}")


@app.command("list")
def list_adjustments(
    plan: Annotated[str | None, typer.Option("--plan", help="Only this plan's.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """List the adjustments recorded, oldest first."""
    with opened_site(site, data_dir) as opened:
        found = adjustments_of(opened.work_orders.audit, plan)
    for item in found:
        typer.echo(
            f"{item.seq} {item.plan_id} {item.kind} {item.start.isoformat()} to "
            f"{item.end.isoformat()} {item.amount:+,.2f} by {item.actor}: {item.reason}"
        )
