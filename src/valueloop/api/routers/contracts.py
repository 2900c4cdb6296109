"""Contracts and their signed savings statements, as JSON, HTML or PDF."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.paging import ListPage
from valueloop.errors import ConfigError, DataError
from valueloop.value.plans import PlanBook
from valueloop.value.side_by_side import action_values, statement_periods
from valueloop.value.statement import UnknownContract, site_statement
from valueloop.value.statement_render import statement_html, statement_pdf

router = APIRouter(prefix="/contracts", tags=["contracts"])


class StatementOut(BaseModel):
    """A statement's content (see :mod:`valueloop.value.statement`) and its signature."""

    content: dict[str, Any]
    signature: str


@router.get("")
def list_contracts(site: SiteDep) -> list[dict[str, Any]]:
    """The site's contracts, as site.yaml declares them."""
    return [contract.model_dump(mode="json") for contract in site.config.value.contracts]


class StatementPeriodOut(BaseModel):
    """A period of the contract with a statement: its actions and their verified value."""

    period: str
    start: date
    end: date
    actions: int
    verified: int
    verified_value: float
    currency: str


@router.get("/{contract_id}/statements")
def list_statements(contract_id: str, site: SiteDep, page: ListPage) -> list[StatementPeriodOut]:
    """The contract's periods (within its term) that have a statement, in order."""
    contract = site.config.value.contract(contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id!r}")
    values = action_values(PlanBook(site.store), site.ledger)
    currency = site.config.site.currency
    periods = [
        StatementPeriodOut(
            period=found.label,
            start=found.start,
            end=found.end,
            actions=found.actions,
            verified=found.verified,
            verified_value=found.verified_value,
            currency=currency,
        )
        for found in statement_periods(contract, values)
    ]
    return page.rows(periods, lambda row: (row.start.isoformat(),))


@router.get(
    "/{contract_id}/statement",
    response_model=None,
    responses={
        200: {
            "description": "The statement, as JSON, HTML or PDF.",
            "content": {"text/html": {}, "application/pdf": {}},
        }
    },
)
def get_statement(
    contract_id: str,
    site: SiteDep,
    period: Annotated[str, Query(description="2026-Q3, 2026-07 or 2026.")],
    format: Annotated[Literal["json", "html", "pdf"], Query()] = "html",
) -> StatementOut | Response:
    """The contract's savings statement for ``period``, computed from the ledger now and signed
    with the site key."""
    try:
        signed = site_statement(site, contract_id, period, datetime.now(UTC))
    except UnknownContract as err:
        raise NotFoundError(str(err)) from err
    except ConfigError as err:
        raise DataError(str(err)) from err
    if format == "json":
        return StatementOut(content=signed.content, signature=signed.signature)
    html = statement_html(signed)
    if format == "html":
        return HTMLResponse(html)
    name = f"statement-{contract_id}-{period}.pdf"
    return Response(
        statement_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
