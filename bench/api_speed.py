"""Authenticated reads of a real ``valueloop serve`` beside ``/healthz``, measured by wrk.

A DuckDB site of 350 pumps (5 areas, 10 lines, six signals each: 2,100 series) holds two days of
one-minute readings of every series (6 million points, written hour by hour as a field would send
them) and 200 alarms. ``valueloop serve`` serves it; wrk (``-c20 -t2 -d10s`` by default) loads
``/healthz`` (no token) and then each authenticated read with a viewer's token:

- ``asset list``: ``GET /api/assets`` (every asset with its series count and latest prediction);
- ``asset tree``: ``GET /api/assets/tree`` (the console's first view);
- ``latest values``: ``GET /api/assets/{asset}/overview`` (one asset's signals with their newest
  point and a day's sparkline, its alarms, predictions, work orders and set-points);
- ``downsample``: ``GET /api/series/{id}/downsample?every=1h`` (one series' two days by hour);
- ``trend``: ``GET /api/trends`` (one series' two days at 1,000 px);
- ``alarm list``: ``GET /api/alarms``.

Each is loaded with every request asking the same (many consoles showing the same list); then
the asset list, latest values, downsample and alarm list again, as ``varied``, every request asking
for an asset, series or page size picked at random among hundreds (many operators looking at
different things).

``/healthz`` is loaded first and again last. Each row gives requests per second, the ratio to the
higher of the two ``/healthz`` figures of the same run (target at least 0.5), the 50th and 99th
latency percentiles (target p99 under 100 ms), and beside them the store's own time for the query
behind the read (median, in-process, before the server starts) with the requests per second that
time allows one query after another. Reads run beside each other on cursors of their own, but
DuckDB already spreads one query over the cores, so the store's time bounds a read's rate. Every
answer must be a 200: the last column counts any other, and the server's access log names them.

    python bench/api_speed.py [--connections 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from common import write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.processes import server_of

from valueloop.alarms import LimitAlarm, Priority, Transition
from valueloop.alarms.book import AlarmBook
from valueloop.api.auth import issue_token
from valueloop.schema import POINT_SCHEMA
from valueloop.site import Site, open_site
from valueloop.store.trend import draw

WRK = Path("/usr/bin/wrk")
SIGNALS = ("flow", "pressure", "power", "speed", "temperature", "vibration")
SITE = """
site: {name: works, timezone: Europe/Berlin, currency: EUR}
asset_types:
  pump:
    signals:
      flow: {unit: l/min}
      pressure: {unit: bar}
      power: {unit: kW}
      speed: {unit: rpm}
      temperature: {unit: degC}
      vibration: {unit: mm/s}
assets:
"""
AREAS, LINES, PUMPS = 5, 2, 35
"""Areas of the site, lines per area, pumps per line: 350 pumps."""
DAYS = 2
END = datetime(2026, 3, 1, tzinfo=UTC)
ALARMS = 200
P99_TARGET_MS = 100.0
RATIO_TARGET = 0.5
SETTLE_S = 5.0
"""Seconds the server is left alone after it answers, before the first run."""
LUA = """
local token = os.getenv("VL_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local paths = {}
local listed = os.getenv("VL_PATHS")
if listed ~= nil and listed ~= "" then
  for line in io.lines(listed) do paths[#paths + 1] = line end
end
request = function()
  if #paths == 0 then return wrk.format() end
  return wrk.format(nil, paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""
STORE_REPEAT = 20


@dataclass(frozen=True)
class Read:
    """A read to load: its name, its paths (one, or many picked at random), whether it needs the
    token, and the store query behind it."""

    name: str
    paths: list[str]
    token: bool
    store: Callable[[Site, random.Random], object] | None


@dataclass
class Row:
    """One read's wrk run."""

    read: str
    path: str
    requests_per_s: float
    ratio: float
    p50_ms: float
    p99_ms: float
    store_ms: float | None
    store_per_s: float | None
    non_2xx: int
    socket_errors: int


def _site_yaml() -> str:
    lines = [
        f'  - {{path: "area-{area}/line-{area}{line}/pump-{area}{line}{{01..{PUMPS}}}", '
        "type: pump}"
        for area in range(1, AREAS + 1)
        for line in range(1, LINES + 1)
    ]
    return SITE + "\n".join(lines) + "\n"


def _readings(site: Site) -> int:
    """Two days of one-minute readings of every series, an hour of all series per batch."""
    ids = np.array(site.registry.known_ids().to_pylist(), np.int32)
    rng = np.random.default_rng(7)
    start_s = int((END - timedelta(days=DAYS)).timestamp())
    stored = 0
    for hour in range(DAYS * 24):
        minutes = start_s + hour * 3600 + 60 * np.arange(60, dtype=np.int64)
        stamps = np.tile(minutes, len(ids))
        series = np.repeat(ids, len(minutes))
        order = np.argsort(stamps, kind="stable")
        values = 50 + 10 * np.sin(stamps / 3600) + rng.normal(0, 1, len(stamps))
        batch = pa.table(
            {
                "series_id": pa.array(series[order], pa.int32()),
                "ts": pa.array(stamps[order] * 1_000_000, pa.timestamp("us", tz="UTC")),
                "value": pa.array(values[order], pa.float64()),
                "quality": pa.array(np.zeros(len(stamps)), pa.uint8()),
            },
            schema=POINT_SCHEMA,
        )
        stored += site.points.write(batch).inserted
    return stored


def _alarms(site: Site) -> None:
    """:data:`ALARMS` vibration alarms on as many pumps, half of them cleared since."""
    book = AlarmBook(site.store)
    assets = sorted(site.model.assets)[:ALARMS]
    transitions = []
    for number, asset in enumerate(assets):
        alarm = LimitAlarm(
            name="vibration_high",
            asset=asset,
            signal="vibration",
            series_id=0,
            level="hi",
            limit=10.0,
            priority=Priority.HIGH if number % 3 else Priority.MEDIUM,
            on_delay=timedelta(0),
            off_delay=timedelta(0),
            deadband=0.0,
            description="bearing wear",
        )
        raised = END - timedelta(hours=6, minutes=number)
        transitions.append(Transition(alarm, "activate", raised, 12.5, "vibration"))
        if number % 2:
            transitions.append(
                Transition(alarm, "clear", raised + timedelta(minutes=30), 8.0, "vibration")
            )
    book.apply(transitions)


def build(folder: Path) -> tuple[Path, str]:
    """The site's data directory and a viewer's token."""
    site_file = folder / "site.yaml"
    site_file.write_text(_site_yaml())
    data = folder / "data"
    site = open_site(site_file, data)
    try:
        started = time.perf_counter()
        points = _readings(site)
        _alarms(site)
        print(
            f"site: {len(site.model.assets)} assets, {len(site.registry.known_ids())} series, "
            f"{points:,} points, {ALARMS} alarms in {time.perf_counter() - started:.1f} s"
        )
        token = issue_token(site.store, "vera", "viewer")
    finally:
        site.close()
    return data, token


def _series_of(site: Site, asset: str) -> list[int]:
    ids: list[int] = site.registry.catalogue(asset).column("series_id").to_pylist()
    return ids


def reads(site: Site) -> list[Read]:
    """The reads to load, fixed then varied, with the store query behind each."""
    assets = sorted(site.model.assets)
    ids: list[int] = site.registry.known_ids().to_pylist()
    first, one = assets[0], ids[0]
    span = f"start={(END - timedelta(days=DAYS)).isoformat()}&end={END.isoformat()}"
    span = span.replace("+", "%2B")
    book = AlarmBook(site.store)
    hour = timedelta(hours=1)

    def newest(asset: str) -> object:
        return site.points.latest(_series_of(site, asset))

    def predictions(site: Site, pick: random.Random) -> object:
        # read, not the book's kept table: what a request costs when the predictions change
        return site.predictions.latest(as_of=END + timedelta(days=1))

    def catalogue(site: Site, pick: random.Random) -> object:
        return site.store.query("SELECT * FROM series ORDER BY series_id")

    return [
        Read("healthz", ["/healthz"], False, None),
        Read("asset list", ["/api/assets"], True, predictions),
        Read("asset tree", ["/api/assets/tree"], True, catalogue),
        Read("latest values", [f"/api/assets/{first}/overview"], True, lambda s, r: newest(first)),
        Read(
            "downsample",
            [f"/api/series/{one}/downsample?every=1h"],
            True,
            lambda s, r: s.points.downsample([one], None, None, hour),
        ),
        Read(
            "trend",
            [f"/api/trends?series={one}&{span}&width=1000"],
            True,
            lambda s, r: draw(s.points, [one], END - timedelta(days=DAYS), END, 1000),
        ),
        Read("alarm list", ["/api/alarms"], True, lambda s, r: book.list(limit=501)),
        Read(
            "asset list, varied",
            [f"/api/assets?limit={limit}" for limit in range(300, 501)],
            True,
            predictions,
        ),
        Read(
            "latest values, varied",
            [f"/api/assets/{asset}/overview" for asset in assets],
            True,
            lambda s, r: newest(r.choice(assets)),
        ),
        Read(
            "downsample, varied",
            [f"/api/series/{series}/downsample?every=1h" for series in ids],
            True,
            lambda s, r: s.points.downsample([r.choice(ids)], None, None, hour),
        ),
        Read(
            "alarm list, varied",
            [f"/api/alarms?asset={asset}" for asset in assets],
            True,
            lambda s, r: book.list(asset=r.choice(assets), limit=501),
        ),
    ]


def store_ms(site: Site, read: Read) -> float | None:
    """The median time of the store query behind ``read``, in ms."""
    if read.store is None:
        return None
    pick = random.Random(7)
    read.store(site, pick)
    times = []
    for _ in range(STORE_REPEAT):
        started = time.perf_counter()
        read.store(site, pick)
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def wrk(
    base: str, read: Read, token: str, folder: Path, connections: int, seconds: int
) -> dict[str, int]:
    """One wrk run of ``read``; its summary as the Lua script writes it."""
    script = folder / "report.lua"
    script.write_text(LUA)
    paths = folder / "paths.txt"
    paths.write_text("\n".join(read.paths) + "\n")
    env = {
        **os.environ,
        "VL_TOKEN": token if read.token else "",
        "VL_PATHS": str(paths) if len(read.paths) > 1 else "",
    }
    url = base + read.paths[0]
    done = subprocess.run(
        [str(WRK), f"-c{connections}", "-t2", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=seconds + 60,
    )
    summary: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def failures(log: Path) -> Counter[tuple[str, int]]:
    """The answers other than 200 in the server's access log, by route and status."""
    found: Counter[tuple[str, int]] = Counter()
    for line in log.read_text().splitlines():
        start = line.find("{")
        if '"status"' not in line or start < 0:
            continue
        entry = json.loads(line[start:])
        if entry["status"] != 200:
            found[(entry["route"], entry["status"])] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not WRK.exists():
        raise SystemExit(f"{WRK} is missing (apt-get install wrk)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vl-api-speed-") as temp:
        folder = Path(temp)
        data, token = build(folder)
        site = open_site(data / "site.yaml", data)
        try:
            loads = reads(site)
            stores = {read.name: store_ms(site, read) for read in loads}
        finally:
            site.close()
        rows: list[Row] = []
        with server_of(data, log=folder / "serve.log") as server:
            time.sleep(SETTLE_S)  # the engine's first round of jobs, then quiet
            measured = [
                (read, wrk(server.base, read, token, folder, args.connections, args.seconds))
                for read in [*loads, loads[0]]
            ]
        rates = [summary["requests"] / (summary["duration_us"] / 1e6) for _, summary in measured]
        health = max(rates[0], rates[-1])
        for position, ((read, summary), rate) in enumerate(zip(measured, rates, strict=True)):
            store = stores[read.name]
            rows.append(
                Row(
                    read="healthz, again" if position == len(loads) else read.name,
                    path=read.paths[0].split("?")[0],
                    requests_per_s=round(rate, 1),
                    ratio=round(rate / health, 3),
                    p50_ms=round(summary["p50_us"] / 1e3, 1),
                    p99_ms=round(summary["p99_us"] / 1e3, 1),
                    store_ms=None if store is None else round(store, 2),
                    store_per_s=None if store is None else round(1e3 / store),
                    non_2xx=summary["non_2xx"],
                    socket_errors=summary["socket_errors"],
                )
            )
        failed = failures(folder / "serve.log")
        for (route, status), count in sorted(failed.items()):
            print(f"{count} answers {status} from {route}")
    table = Table(
        title=f"Authenticated reads beside /healthz (wrk -c{args.connections} -t2 "
        f"-d{args.seconds}s, one valueloop serve)"
    )
    columns = ("read", "path", "req/s", "ratio", "p50 ms", "p99 ms", "store ms", "store/s", "bad")
    for column in columns:
        table.add_column(column, justify="left" if column in ("read", "path") else "right")
    for row in rows:
        met = row.read.startswith("healthz") or (
            row.ratio >= RATIO_TARGET and row.p99_ms < P99_TARGET_MS
        )
        table.add_row(
            row.read,
            row.path,
            f"{row.requests_per_s:,.0f}",
            f"[{'green' if met else 'red'}]{row.ratio:.2f}[/]",
            f"{row.p50_ms:.1f}",
            f"[{'green' if met else 'red'}]{row.p99_ms:.1f}[/]",
            "-" if row.store_ms is None else f"{row.store_ms:.2f}",
            "-" if row.store_per_s is None else f"{row.store_per_s:,.0f}",
            str(row.non_2xx + row.socket_errors),
        )
    Console(width=150).print(table)
    path = write_result(
        "api_speed",
        {
            "connections": args.connections,
            "seconds": args.seconds,
            "site": {
                "assets": AREAS * LINES * PUMPS,
                "series": AREAS * LINES * PUMPS * len(SIGNALS),
                "days": DAYS,
                "alarms": ALARMS,
            },
            "targets": {"ratio": RATIO_TARGET, "p99_ms": P99_TARGET_MS},
            "load_average": {"before": load_before, "after": os.getloadavg()},
            "rows": [asdict(row) for row in rows],
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
