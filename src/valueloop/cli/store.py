"""``valueloop store``: the site's time-series store as a hot tier and a cold Parquet tier.

The hot tier is the site's points store; the cold tier is the folder ``<data-dir>/cold`` (see
:mod:`valueloop.site` and :mod:`valueloop.store.tiered`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from valueloop.cli.sitecmd import (
    DEFAULT_DATA_DIR,
    DEFAULT_SITE,
    DataDir,
    SiteFile,
    opened_site,
    print_rows,
)
from valueloop.config import parse_duration
from valueloop.site import COLD_FOLDER
from valueloop.store.parquet import bytes_per_point
from valueloop.store.tiered import TieredStore

app = typer.Typer(help="The time-series store: its hot and cold tiers.", no_args_is_help=True)

Instant = Annotated[
    str | None,
    typer.Option(help="ISO 8601 instant, e.g. 2026-03-01T06:00; UTC unless it has an offset."),
]


@contextmanager
def opened_store(site_file: Path | None, data_dir: Path) -> Iterator[TieredStore]:
    """The site's points store: its hot tier and the cold tier in ``<data-dir>/cold``."""
    with opened_site(site_file, data_dir) as site:
        yield site.points


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 instant", param_hint=option) from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command("info")
def info(data_dir: DataDir = DEFAULT_DATA_DIR, site: SiteFile = DEFAULT_SITE) -> None:
    """Per tier: series, points, bytes on disk, bytes per point and time range."""
    with opened_store(site, data_dir) as store:
        tiers = store.info()
        watermark = store.watermark
    rows = pa.Table.from_pylist(
        [
            {
                "tier": tier.tier,
                "series": tier.series,
                "points": tier.points,
                "bytes": tier.bytes,
                "per_point": bytes_per_point(tier),
                "start": tier.start,
                "end": tier.end,
            }
            for tier in tiers
        ]
    )
    columns = {
        "tier": "tier",
        "series": "series",
        "points": "points",
        "bytes": "bytes",
        "per_point": "bytes/point",
        "start": "from (UTC)",
        "end": "to (UTC)",
    }
    print_rows(rows, columns, "Time-series store")
    typer.echo(
        "nothing compacted yet"
        if watermark is None
        else f"cold tier holds the points before {watermark:%Y-%m-%d %H:%M:%S} UTC"
    )


@app.command("compact")
def compact(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Move the points older than this (e.g. 30d, 12h) to the cold tier. The age "
            "counts back from the newest point in the store, not from the wall clock, so "
            "replayed or back-filled history compacts too.",
        ),
    ] = "30d",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Move old points from the hot tier to the cold Parquet tier, one UTC day at a time."""
    try:
        age = parse_duration(older_than)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--older-than") from err
    with opened_store(site, data_dir) as store:
        tiers = store.info()
        newest = max((tier.end for tier in tiers if tier.end is not None), default=None)
        if newest is None:
            typer.echo("the store holds no point; nothing to compact")
            return
        before = newest - age
        hot_starts = [tier.start for tier in tiers if tier.tier == "hot" and tier.start]
        first = min([*hot_starts, before])
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
        with Progress(*columns) as progress:
            task = progress.add_task("compacting", total=(before - first).total_seconds() or 1)

            def advance(until: datetime) -> None:
                progress.update(
                    task,
                    completed=(until - first).total_seconds(),
                    description=f"compacted to {until:%Y-%m-%d %H:%M}",
                )

            moved = store.compact(before, progress=advance)
            progress.update(task, completed=(before - first).total_seconds() or 1)
    typer.echo(
        f"moved {moved} points before {before:%Y-%m-%d %H:%M:%S} UTC to {data_dir / COLD_FOLDER}"
    )


@app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="The Parquet file to write (zstd).")],
    start: Instant = None,
    end: Instant = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    site: SiteFile = DEFAULT_SITE,
) -> None:
    """Export the points of both tiers with start <= ts < end to one Parquet file, each with
    its series' id, path and unit."""
    import tempfile

    from valueloop.store.export import label_points

    window = _instant(start, "--start"), _instant(end, "--end")
    with opened_site(site, data_dir) as opened, tempfile.TemporaryDirectory() as scratch:
        points = Path(scratch) / "points.parquet"
        opened.points.export_parquet(points, *window)
        written = label_points(points, path, opened.registry.catalogue())
    typer.echo(f"exported {written} points to {path}")


@app.command("check")
def check(data_dir: DataDir = DEFAULT_DATA_DIR, site: SiteFile = DEFAULT_SITE) -> None:
    """Verify the store's invariants, reading both tiers whole; exit 1 if one fails."""
    with opened_store(site, data_dir) as store:
        results = store.check()
    for result in results:
        status = "ok" if result.violations == 0 else "FAILED"
        plural = "s" if result.violations > 1 else ""
        detail = f" ({result.violations} point{plural})" if result.violations else ""
        typer.echo(f"{status:<6}  {result.name}{detail}")
    if any(result.violations for result in results):
        raise typer.Exit(code=1)
