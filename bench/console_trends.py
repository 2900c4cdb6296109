"""Trends as the console draws them: /api/trends beside the raw store query of the same range.

A DuckDB site of ten pumps holds, ingested as Arrow batches, one series of 10 million 1 Hz
readings (about 116 days) and 19 more over its last 30 days at 10 s. Each figure is the median of
``--repeat`` runs through the whole API (a test client over the ASGI application: token check,
query, downsampling, JSON), with the handler's own ``server_ms`` beside it:

- ``ten_million``: the 10-million-point series drawn at 1,920 px (target < 300 ms), beside the raw
  store query of the same range: count its points, then read them all as Arrow;
- ``twenty_signals``: 20 signals over 30 days at 1,920 px (target < 1 s), beside the raw count and
  read of the same 20 series and range;
- ``zoom``: successive zoom steps from the whole 10-million-point range, each to the middle
  quarter of the one before (target < 200 ms each), down to raw points.

The same figures are then measured as a user sees them, in Debian's Chromium driven by Playwright
at a 1,920 px wide viewport (``browser`` in each figure; the chart is as wide as the console's page
lets it be there, and asks for that many pixels): the console's trend view opened by a link to the
range in a fresh browser context (nothing cached), timed in the page from navigation to the moment
ECharts has painted the data (the view's ``data-painted``, target < 1 s), and opened again in that
context (its files cached, ``painted_again_ms``); the zoom steps made on the chart, timed from the
zoom action to the painted detail (target < 200 ms). Each splits into the page's start before it
asks for the trend, the request (with the handler's own time) and parsing and drawing the answer.
The server runs in this process, as the browser tests serve a site, and Chromium on the same cores.

    python bench/console_trends.py [--repeat 5] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from common import write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.schema import POINT_SCHEMA
from valueloop.site import Site, open_site

SITE = """
site: {name: works, timezone: UTC, currency: EUR}
asset_types:
  pump:
    signals: {flow: {unit: l/min}, power: {unit: kW}}
assets:
  - {path: "pumping/line-1/pump-{1..10}", type: pump}
"""
END = datetime(2026, 3, 1, tzinfo=UTC)
POINTS = 10_000_000
"""Readings of the long series, one a second up to :data:`END`."""
MONTH = timedelta(days=30)
OTHER_EVERY_S = 10
"""Seconds between two readings of the 19 other series."""
WIDTH = 1_920
CHUNK = 1_000_000
TARGETS_MS = {"ten_million": 300.0, "twenty_signals": 1_000.0, "zoom": 200.0}
PAINTED_TARGET_MS = 1_000.0
"""From navigation to the painted chart in the browser."""
VIEWPORT = {"width": 1_920, "height": 1_080}
ZOOM_TO = (37.5, 62.5)
"""Each zoom step in the browser: the middle quarter of the range on the chart, in percent."""


def _batch(series_id: int, first_s: int, seconds: np.ndarray, seed: int) -> pa.Table:
    """Readings at ``first_s + seconds`` (s since the epoch): a daily wave, noise, rare spikes."""
    rng = np.random.default_rng(seed)
    at = first_s + seconds
    values = 50 + 20 * np.sin(at * 2 * np.pi / 86_400) + rng.normal(0, 1, len(at))
    values[rng.random(len(at)) < 1e-5] += 40
    return pa.table(
        {
            "series_id": pa.array(np.full(len(at), series_id), pa.int32()),
            "ts": pa.array(at * 1_000_000, pa.timestamp("us", tz="UTC")),
            "value": pa.array(values, pa.float64()),
            "quality": pa.array(np.zeros(len(at)), pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def _ingest(site: Site, ids: list[int]) -> tuple[int, float]:
    """Store the long series and the 19 others; return the points and the seconds it took."""
    started = time.perf_counter()
    end_s = int(END.timestamp())
    first_s = end_s - POINTS
    stored = 0
    for offset in range(0, POINTS, CHUNK):
        seconds = np.arange(offset, min(offset + CHUNK, POINTS), dtype=np.int64)
        stored += site.points.write(_batch(ids[0], first_s, seconds, offset)).inserted
    month_s = int(MONTH.total_seconds())
    seconds = np.arange(0, month_s, OTHER_EVERY_S, dtype=np.int64)
    for seed, series_id in enumerate(ids[1:]):
        stored += site.points.write(_batch(series_id, end_s - month_s, seconds, seed)).inserted
    return stored, time.perf_counter() - started


def _median_ms(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median wall time of ``action`` over ``repeat`` runs (ms), and its last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times), result


def _trend(
    client: TestClient, headers: dict[str, str], ids: list[int], start: datetime, end: datetime
) -> dict[str, Any]:
    answer = client.get(
        "/api/trends",
        params={"series": ids, "start": start.isoformat(), "end": end.isoformat(), "width": WIDTH},
        headers=headers,
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def _measure(
    client: TestClient,
    headers: dict[str, str],
    site: Site,
    ids: list[int],
    start: datetime,
    end: datetime,
    repeat: int,
    raw: bool = True,
) -> dict[str, Any]:
    """One trend's times through the API and in its handler, with the raw query beside it."""
    total_ms, body = _median_ms(lambda: _trend(client, headers, ids, start, end), repeat)
    server_ms = statistics.median(
        _trend(client, headers, ids, start, end)["server_ms"] for _ in range(repeat)
    )
    row: dict[str, Any] = {
        "series": len(ids),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "api_ms": round(total_ms, 1),
        "server_ms": round(server_ms, 1),
        "modes": sorted({trace["mode"] for trace in body["series"]}),
        "points_drawn": sum(len(trace["points"]) for trace in body["series"]),
    }
    if raw:

        def count_and_read() -> int:
            whole = timedelta(days=-(-(end - start) // timedelta(days=1)))
            counted = site.points.downsample(ids, start, end, whole, ("count",))
            site.points.read(ids, start, end)
            return int(sum(counted.column("count").to_pylist()))

        raw_ms, points = _median_ms(count_and_read, repeat)
        row |= {"raw_points": points, "raw_count_and_read_ms": round(raw_ms, 1)}
    return row


PAINT_TIMES = """() => {
  const chart = document.getElementById("trend-chart");
  const asked = performance.getEntriesByType("resource")
    .filter((entry) => entry.name.includes("/api/trends?"));
  const last = asked[asked.length - 1];
  const status = document.getElementById("trend-status").textContent;
  return { painted: Number(chart.dataset.painted), paints: Number(chart.dataset.paints),
    requested: last.startTime, answered: last.responseEnd, width: chart.clientWidth,
    points: Number(status.split(" ")[0]), server: Number(/server (\\d+) ms/.exec(status)[1]) };
}"""
"""The trend view's last paint and the last /api/trends request, in ms since navigation, and
what its status line says: the points drawn and the handler's time."""
ZOOM = """([from, to]) => {
  const chart = echarts.getInstanceByDom(document.getElementById("trend-chart"));
  const at = performance.now();
  chart.dispatchAction({ type: "dataZoom", start: from, end: to });
  return at;
}"""
"""Zoom the trend chart as the mouse wheel does; return when (ms since navigation)."""


def _painted_after(page: Any, paints: int) -> dict[str, float]:
    """The trend view's times once it has painted ``paints`` loads."""
    page.wait_for_function(
        "paints => document.getElementById('trend-chart')?.dataset.paints === String(paints)",
        arg=paints,
        timeout=60_000,
    )
    times: dict[str, float] = page.evaluate(PAINT_TIMES)
    return times


def _browser_run(
    browser: Any, base: str, token: str, ids: list[int], start: datetime, end: datetime, zooms: int
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """A visit in a fresh context (nothing cached): the first paint of the range, then ``zooms``
    zoom steps; then the paint of a second visit in that context (the page's files cached)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        link = f"{base}/?token={token}#/trends/{','.join(map(str, ids))}"
        link += f"/{start.isoformat()}/{end.isoformat()}"
        page.goto(link)
        first = _painted_after(page, 1)
        opened = {
            "painted_ms": first["painted"],
            "before_request_ms": first["requested"],
            "request_ms": first["answered"] - first["requested"],
            "server_ms": first["server"],
            "draw_ms": first["painted"] - first["answered"],
            "chart_width_px": first["width"],
            "points_drawn": first["points"],
        }
        steps = []
        for step in range(zooms):
            zoomed_at = page.evaluate(ZOOM, list(ZOOM_TO))
            after = _painted_after(page, step + 2)
            steps.append(
                {
                    "action_to_painted_ms": after["painted"] - zoomed_at,
                    "request_ms": after["answered"] - after["requested"],
                    "server_ms": after["server"],
                    "draw_ms": after["painted"] - after["answered"],
                    "points_drawn": after["points"],
                }
            )
        again = context.new_page()
        again.goto(link)
        opened["painted_again_ms"] = _painted_after(again, 1)["painted"]
        return opened, steps
    finally:
        context.close()


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs, rounded to 0.1 ms (or one point or pixel)."""
    return {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]}


def _in_browser(
    site: Site, token: str, ids: list[int], start: datetime, zooms: int, repeat: int
) -> dict[str, Any]:
    """The 10 M series with its zoom steps, and the 20 signals, painted in Chromium."""
    from tests.console.browser import chromium, serving

    ten, twenty, steps = [], [], []
    with serving(site) as base, chromium() as browser:
        for _ in range(repeat):
            opened, zoomed = _browser_run(browser, base, token, ids[:1], start, END, zooms)
            ten.append(opened)
            steps.append(zoomed)
            twenty.append(_browser_run(browser, base, token, ids, END - MONTH, END, 0)[0])
        version = browser.version
    return {
        "chromium": version,
        "viewport": VIEWPORT,
        "ten_million": _medians(ten),
        "twenty_signals": _medians(twenty),
        "zoom": [_medians([run[n] for run in steps]) for n in range(zooms)],
    }


def _browser_table(rows: list[tuple[str, dict[str, Any], str]], repeat: int) -> Table:
    """The figures as painted in Chromium: the whole time, and where it went."""
    table = Table(title=f"painted in Chromium at {VIEWPORT['width']} px, median of {repeat}")
    columns = ("figure", "painted ms", "again", "target ms", "page start", "request", "handler")
    columns += ("draw",)
    for column in columns:
        table.add_column(column, justify="left" if column == "figure" else "right")
    for name, row, _ in rows:
        seen = row["browser"]
        zoomed = "action_to_painted_ms" in seen
        table.add_row(
            name,
            f"{seen['action_to_painted_ms' if zoomed else 'painted_ms']:.0f}",
            "" if zoomed else f"{seen['painted_again_ms']:.0f}",
            f"{TARGETS_MS['zoom'] if zoomed else PAINTED_TARGET_MS:.0f}",
            "" if zoomed else f"{seen['before_request_ms']:.0f}",
            f"{seen['request_ms']:.0f}",
            f"{seen['server_ms']:.0f}",
            f"{seen['draw_ms']:.0f}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (the median)")
    parser.add_argument(
        "--no-browser", dest="browser", action="store_false", help="skip the Chromium figures"
    )
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "site.yaml").write_text(SITE)
        site = open_site(Path(folder) / "site.yaml", Path(folder) / "data")
        ids = [int(i) for i in site.registry.catalogue().column("series_id").to_pylist()]
        stored, ingest_s = _ingest(site, ids)
        console.print(f"stored {stored:,} points in {ingest_s:.1f} s")
        token = issue_token(site.store, "bench", "viewer")
        headers = {"Authorization": f"Bearer {token}"}
        start = END - timedelta(seconds=POINTS)
        with TestClient(create_app(site)) as client:
            ten = _measure(client, headers, site, ids[:1], start, END, args.repeat)
            twenty = _measure(client, headers, site, ids, END - MONTH, END, args.repeat)
            zoom, low, high = [], start, END
            while True:
                quarter = (high - low) / 4
                low, high = low + 1.5 * quarter, low + 2.5 * quarter
                step = _measure(client, headers, site, ids[:1], low, high, args.repeat, raw=False)
                zoom.append(step)
                if step["modes"] == ["raw"]:
                    break
        painted: dict[str, Any] = {}
        if args.browser:
            painted = _in_browser(site, token, ids, start, len(zoom), args.repeat)
            ten["browser"], twenty["browser"] = painted["ten_million"], painted["twenty_signals"]
            for step, in_browser in zip(zoom, painted["zoom"], strict=True):
                step["browser"] = in_browser
        site.close()
    table = Table(title=f"/api/trends at {WIDTH} px, median of {args.repeat}")
    for column in ("figure", "API ms", "handler ms", "target ms", "drawn", "raw ms", "raw pts"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    rows = [("10 M points", ten, "ten_million"), ("20 signals, 30 d", twenty, "twenty_signals")]
    rows += [(f"zoom {n + 1} ({s['modes'][0]})", s, "zoom") for n, s in enumerate(zoom)]
    for name, row, target in rows:
        table.add_row(
            name,
            f"{row['api_ms']:.1f}",
            f"{row['server_ms']:.1f}",
            f"{TARGETS_MS[target]:.0f}",
            f"{row['points_drawn']:,}",
            f"{row['raw_count_and_read_ms']:.1f}" if "raw_points" in row else "",
            f"{row['raw_points']:,}" if "raw_points" in row else "",
        )
    console.print(table)
    met = {
        "ten_million": ten["api_ms"] < TARGETS_MS["ten_million"],
        "twenty_signals": twenty["api_ms"] < TARGETS_MS["twenty_signals"],
        "zoom": max(step["api_ms"] for step in zoom) < TARGETS_MS["zoom"],
    }
    if args.browser:
        console.print(_browser_table(rows, args.repeat))
        met |= {
            "ten_million_painted": ten["browser"]["painted_ms"] < PAINTED_TARGET_MS,
            "twenty_signals_painted": twenty["browser"]["painted_ms"] < PAINTED_TARGET_MS,
            "zoom_painted": max(s["browser"]["action_to_painted_ms"] for s in zoom)
            < TARGETS_MS["zoom"],
        }
    path = write_result(
        "console_trends",
        {
            "settings": {
                "points": POINTS,
                "other_series_every_s": OTHER_EVERY_S,
                "width": WIDTH,
                "repeat": args.repeat,
                "store": "duckdb",
            },
            "load_average_1min": round(os.getloadavg()[0], 2),
            "stored_points": stored,
            "ingest_s": round(ingest_s, 1),
            "targets_ms": TARGETS_MS | {"painted": PAINTED_TARGET_MS},
            "browser": {key: painted[key] for key in ("chromium", "viewport")}
            if args.browser
            else None,
            "ten_million": ten,
            "twenty_signals": twenty,
            "zoom": zoom,
            "met": met,
        },
    )
    console.print(f"written to {path}")


if __name__ == "__main__":
    main()
