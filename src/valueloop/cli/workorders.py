"""``valueloop workorders``: list, approve and reject work orders, and read the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from valueloop.act.workorders import OrderStatus
from valueloop.cli.sitecmd import (
    DEFAULT_DATA_DIR,
    DEFAULT_SITE,
    DataDir,
    SiteFile,
    opened_site,
    print_rows,
)

app = typer.Typer(help="Review and decide work orders.", no_args_is_help=True)

OrderId = Annotated[str, typer.Argument(help="The work order's id, e.g. WO-1a2b3c4d5e.")]
By = Annotated[str, typer.Option("--by", help="Who decides; recorded in the audit trail.")]
Comment = Annotated[str, typer.Option("--comment", help="Why; recorded in the audit trail.")]

_ORDER_COLUMNS = {
    "order_id": "order",
    "asset": "asset",
    "action": "action",
    "due_at": "due",
    "failure_probability": "p(failure)",
    "expected_cost": "expected cost",
    "status": "status",
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


def _decision(decision: OrderStatus, summary: str) -> Callable[..., None]:
    """A command that moves a proposed work order to ``decision``."""

    def decide(
        order_id: OrderId,
        by: By,
        comment: Comment = "",
        data_dir: DataDir = DEFAULT_DATA_DIR,
        site: SiteFile = DEFAULT_SITE,
    ) -> None:
        with opened_site(site, data_dir) as opened:
            order = opened.work_orders.transition(order_id, decision, actor=by, comment=comment)
        typer.echo(f"{order['order_id']} {order['status']} by {order['updated_by']}")

    decide.__doc__ = summary
    return decide


app.command("approve")(_decision(OrderStatus.APPROVED, "Approve a proposed work order."))
app.command("reject")(_decision(OrderStatus.REJECTED, "Reject a proposed work order."))


@app.command("audit")
def audit(
    order_id: Annotated[
        str | None, typer.Argument(help="One work order's trail (default: every order's).")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Print the hash-chained audit trail: who did what to which order, and when."""
    with opened_site(site, data_dir) as opened:
        rows = opened.work_orders.audit_trail(order_id)
    print_rows(rows, _AUDIT_COLUMNS, f"Audit trail of {order_id}" if order_id else "Audit trail")
