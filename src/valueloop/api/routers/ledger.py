"""The value ledger: the latest run's entries and the state of the hash chain."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.models import LedgerEntryOut, LedgerOut
from valueloop.api.paging import ListPage
from valueloop.site import Site

router = APIRouter(prefix="/ledger", tags=["ledger"])


def latest_ledger(site: Site) -> LedgerOut:
    """Entries of the most recent run, and whether the whole ledger's hash chain is intact."""
    run_id = site.ledger.latest_run()
    entries = [] if run_id is None else rows_as(LedgerEntryOut, site.ledger.entries(run_id))
    report = site.ledger.verify()
    broken = [] if report.first_broken is None else [report.first_broken]
    return LedgerOut(run_id=run_id, intact=report.ok, broken=broken, entries=entries)


@router.get("")
def ledger_page(site: SiteDep, page: ListPage) -> LedgerOut:
    """Entries of the most recent run, a page at a time, and whether the whole ledger's hash
    chain is intact."""
    ledger = latest_ledger(site)
    entries = page.rows(ledger.entries, lambda entry: (entry.seq,))
    return ledger.model_copy(update={"entries": entries})
