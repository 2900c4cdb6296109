"""What the site commands share: the ``--site`` and ``--data-dir`` options, opening the site
they name, and printing store rows as a table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from valueloop.site import Site, open_site, site_file_of

DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder holding the site's store.")]
SiteFile = Annotated[
    Path | None,
    typer.Option("--site", help="The site.yaml (default: the copy kept in the data directory)."),
]

DEFAULT_DATA_DIR = Path("valueloop-data")
DEFAULT_SITE = None


@contextmanager
def opened_site(site_file: Path | None, data_dir: Path) -> Iterator[Site]:
    """The site described by ``site_file`` with its store under ``data_dir``, closed afterwards.

    Without ``site_file``, the description the data directory keeps from its last opening.
    """
    site = open_site(site_file_of(site_file, data_dir), data_dir)
    try:
        yield site
    finally:
        site.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def print_rows(rows: pa.Table, columns: Mapping[str, str], title: str) -> None:
    """Print ``rows`` as a table titled ``title``; ``columns`` maps column names to headings."""
    table = Table(title=title)
    for position, heading in enumerate(columns.values()):
        table.add_column(heading, no_wrap=position == 0)
    for row in rows.select(list(columns)).to_pylist():
        table.add_row(*(_cell(row[column]) for column in columns))
    Console().print(table)
