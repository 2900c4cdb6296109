"""The sealed logs of the site (the audit trail, the value ledger) and whether they verify."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from valueloop.api.deps import SiteDep
from valueloop.api.models import ChainReportOut
from valueloop.store.appendonly import verify_logs

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/verify")
def verify_audit(site: SiteDep) -> list[ChainReportOut]:
    """Every sealed log verified from its first entry: the rows checked, its head, and when it
    does not verify the first entry that cannot be trusted and why."""
    return [ChainReportOut(**asdict(report)) for report in verify_logs(site.store)]
