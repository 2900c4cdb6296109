"""``valueloop audit``: verify the sealed logs of a site (the audit trail, the value ledger).

``verify`` prints, for each log, the rows checked, its head and OK, or the first entry that cannot
be trusted and why; it exits with code 1 when a log does not verify.
"""

from __future__ import annotations

import typer

from valueloop.cli.sitecmd import DEFAULT_DATA_DIR, DEFAULT_SITE, DataDir, SiteFile, opened_site
from valueloop.store.appendonly import ChainReport, verify_logs

app = typer.Typer(help="Verify the audit trail and the value ledger.", no_args_is_help=True)


def describe(report: ChainReport) -> str:
    """One line saying what verifying a log found."""
    rows = "row" if report.checked == 1 else "rows"
    found = f"{report.log}: {report.checked} {rows} checked, head seq {report.head_seq}"
    if report.ok:
        return f"{found}: OK"
    return f"{found}: BROKEN at seq {report.first_broken}: {report.reason}"


@app.command("verify")
def verify(data_dir: DataDir = DEFAULT_DATA_DIR, site: SiteFile = DEFAULT_SITE) -> None:
    """Verify every sealed log of the site from its first entry; exit code 1 if one is broken."""
    with opened_site(site, data_dir) as opened:
        reports = verify_logs(opened.store)
    for report in reports:
        typer.echo(describe(report))
    if not all(report.ok for report in reports):
        raise typer.Exit(1)
