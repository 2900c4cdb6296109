"""``valueloop statement``: a contract's signed savings statement for a period, HTML and PDF.

The statement is computed from the value ledger (the latest measurement of each action the
contract covers), signed under the site key, and written as ``statement-<contract>-<period>.html``
and ``.pdf`` in ``--out``; the headline figures are printed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from valueloop.cli.sitecmd import DEFAULT_DATA_DIR, DEFAULT_SITE, DataDir, SiteFile, opened_site
from valueloop.value.statement import site_statement
from valueloop.value.statement_render import figure, statement_html, statement_pdf


def statement(
    contract: Annotated[str, typer.Option("--contract", help="The contract's id in site.yaml.")],
    period: Annotated[
        str, typer.Option("--period", help="2026-Q3, 2026-07 or 2026 (calendar months).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder the HTML and PDF are written to.")
    ] = Path("."),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = True,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Write a contract's signed savings statement for a period, as HTML and PDF."""
    with opened_site(site, data_dir) as opened:
        signed = site_statement(opened, contract, period, datetime.now(UTC))
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"statement-{contract}-{period}"
    html = statement_html(signed)
    stem.with_suffix(".html").write_text(html, encoding="utf-8")
    written = [stem.with_suffix(".html")]
    if pdf:
        stem.with_suffix(".pdf").write_bytes(statement_pdf(html))
        written.append(stem.with_suffix(".pdf"))
    content = signed.content
    typer.echo(
        f"verified saving {figure(content['saving'])} ± {figure(content['uncertainty'])}, "
        f"{figure(content['money'])} {content['currency']}; "
        f"unverified: {', '.join(content['unverified']) or 'none'}"
    )
    for path in written:
        typer.echo(str(path))
