"""The health of the site's field connectors."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from valueloop.api.models import ConnectorStatusOut
from valueloop.connectors.status import ConnectorStatus

router = APIRouter(prefix="/connectors", tags=["connectors"])


def connector_statuses(request: Request) -> list[ConnectorStatus]:
    """The statuses of the connectors the server runs (none when it runs no connector)."""
    runner = getattr(request.app.state, "connectors", None)
    return [] if runner is None else list(runner.statuses())


@router.get("")
def list_connectors(request: Request) -> list[ConnectorStatusOut]:
    """Per connector: connected or not, last message time, rate, errors and reconnects."""
    return [ConnectorStatusOut(**asdict(status)) for status in connector_statuses(request)]
