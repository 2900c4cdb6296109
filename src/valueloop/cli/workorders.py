"""``valueloop workorders``: propose, decide, roll back and complete work orders; read the audit.

Every command that acts does so as the user of the API token in ``VALUELOOP_TOKEN`` (or
``--token-file``), under the same policy as the API: limits on set-point changes, approvals by
approvers other than the proposer, the number of approvals the site asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer

from valueloop.act.workorders import OrderStatus
from valueloop.cli.identity import TokenFile, cli_principal
from valueloop.cli.sitecmd import (
    DEFAULT_DATA_DIR,
    DEFAULT_SITE,
    DataDir,
    SiteFile,
    opened_site,
    print_rows,
)
from valueloop.errors import ValueloopError

app = typer.Typer(help="Propose, decide and follow work orders.", no_args_is_help=True)
propose_app = typer.Typer(help="Propose a set-point change or a maintenance task.")
app.add_typer(propose_app, name="propose")

OrderId = Annotated[str, typer.Argument(help="The work order's id, e.g. WO-1a2b3c4d5e.")]
Comment = Annotated[str, typer.Option("--comment", help="Why; recorded in the audit trail.")]
Asset = Annotated[str, typer.Argument(help="The asset's name, e.g. machine-1.")]

_ORDER_COLUMNS = {
    "order_id": "order",
    "kind": "kind",
    "asset": "asset",
    "task": "what",
    "due_at": "due",
    "expected_value": "expected value",
    "status": "status",
    "created_by": "proposed by",
    "updated_by": "by",
    "updated_at": "at",
}
_AUDIT_COLUMNS = {
    "seq": "seq",
    "recorded_at": "at",
    "actor": "actor",
    "action": "action",
    "subject": "order",
    "detail": "detail",
}


def _print(order: dict[str, Any]) -> None:
    typer.echo(f"{order['order_id']} {order['status']} ({order['kind']}: {order['task']})")


def _acting(data_dir: Any, site: Any, token_file: Any, act: Callable[..., dict[str, Any]]) -> None:
    """Run ``act(opened site, principal)`` and print the order; a refusal exits with code 1."""
    with opened_site(site, data_dir) as opened:
        principal = cli_principal(opened.store, token_file)
        try:
            order = act(opened, principal)
        except ValueloopError as err:
            typer.echo(f"refused: {err}", err=True)
            raise typer.Exit(1) from err
    _print(order)


@app.command("list")
def list_orders(
    status: Annotated[
        OrderStatus | None, typer.Option("--status", help="Only orders in this state.")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """List work orders by due time."""
    with opened_site(site, data_dir) as opened:
        rows = opened.work_orders.list(status)
    print_rows(rows, _ORDER_COLUMNS, f"Work orders ({status.value if status else 'all'})")


@propose_app.command("setpoint")
def propose_setpoint(
    asset: Asset,
    setpoint: Annotated[str, typer.Argument(help="The set-point's name, e.g. speed_setpoint.")],
    target: Annotated[float | None, typer.Option("--to", help="The new value.")] = None,
    change: Annotated[
        float | None, typer.Option("--by", help="Or a change from the current value.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, in words.")] = "",
    expected_value: Annotated[
        float, typer.Option("--expected-value", help="Money it should save (site currency).")
    ] = 0.0,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
    token_file: TokenFile = None,
) -> None:
    """Propose a set-point change; one outside its limits is refused, naming the limit."""
    _acting(
        data_dir,
        site,
        token_file,
        lambda opened, principal: opened.actions.propose_setpoint(
            asset,
            setpoint,
            target=target,
            change=change,
            reason=reason,
            expected_value=expected_value,
            actor=principal.name,
        ),
    )


@propose_app.command("task")
def propose_task(
    asset: Asset,
    task: Annotated[str, typer.Argument(help="The task, e.g. 'inspect bearings'.")],
    start: Annotated[datetime, typer.Option("--start", help="Window start (ISO 8601).")],
    end: Annotated[datetime | None, typer.Option("--end", help="Window end.")] = None,
    crew: Annotated[str, typer.Option("--crew", help="Who does it.")] = "",
    expected_value: Annotated[
        float, typer.Option("--expected-value", help="Money it should save (site currency).")
    ] = 0.0,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
    token_file: TokenFile = None,
) -> None:
    """Propose a maintenance task within a window."""
    _acting(
        data_dir,
        site,
        token_file,
        lambda opened, principal: opened.actions.propose_task(
            asset,
            task,
            window_start=start.astimezone(),
            window_end=None if end is None else end.astimezone(),
            crew=crew,
            expected_value=expected_value,
            actor=principal.name,
        ),
    )


def _decision(approve: bool, summary: str) -> Callable[..., None]:
    """A command that approves or rejects a proposed work order as the token's user."""

    def decide(
        order_id: OrderId,
        comment: Comment = "",
        data_dir: DataDir = DEFAULT_DATA_DIR,
        site: SiteFile = DEFAULT_SITE,
        token_file: TokenFile = None,
    ) -> None:
        def act(opened: Any, principal: Any) -> dict[str, Any]:
            how = opened.actions.approve if approve else opened.actions.reject
            order: dict[str, Any] = how(
                order_id, actor=principal.name, role=principal.role, comment=comment
            )
            return order

        _acting(data_dir, site, token_file, act)

    decide.__doc__ = summary
    return decide


app.command("approve")(
    _decision(True, "Approve a proposed work order as the token's user (never the proposer).")
)
app.command("reject")(_decision(False, "Reject a proposed work order as the token's user."))


@app.command("rollback")
def rollback(
    order_id: OrderId,
    reason: Annotated[str, typer.Option("--reason", help="Why, in words.")] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
    token_file: TokenFile = None,
) -> None:
    """Propose to roll an executed set-point change back to its audited previous value."""
    _acting(
        data_dir,
        site,
        token_file,
        lambda opened, principal: opened.actions.rollback(
            order_id, actor=principal.name, reason=reason
        ),
    )


@app.command("complete")
def complete(
    order_id: OrderId,
    cost: Annotated[float, typer.Option("--cost", help="Actual cost (site currency).", min=0)],
    hours: Annotated[float, typer.Option("--hours", help="How long it took.", min=0)],
    findings: Annotated[str, typer.Option("--findings", help="What was found.")] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
    token_file: TokenFile = None,
) -> None:
    """Close a dispatched maintenance task with its actual cost, duration and findings."""
    _acting(
        data_dir,
        site,
        token_file,
        lambda opened, principal: opened.actions.complete(
            order_id, actor=principal.name, actual_cost=cost, duration_h=hours, findings=findings
        ),
    )


@app.command("audit")
def audit(
    order_id: Annotated[
        str | None, typer.Argument(help="One work order's trail (default: every order's).")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Print the audit trail: who did what to which order, and when."""
    with opened_site(site, data_dir) as opened:
        rows = opened.work_orders.audit_trail(order_id)
    print_rows(rows, _AUDIT_COLUMNS, f"Audit trail of {order_id}" if order_id else "Audit trail")
