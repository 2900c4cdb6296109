"""An opened site: its configuration, its time-series store and the tables of every stage.

:func:`open_site` is what the CLI, the API and the loop share; it owns no logic of its own beyond
opening things in the right order.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from valueloop.act.desk import ActionDesk
from valueloop.act.field import Field
from valueloop.act.workorders import OrderStatus, WorkOrders
from valueloop.analytics.anomaly.live import AnomalyBook
from valueloop.analytics.catalogue import KINDS
from valueloop.analytics.records import PredictionBook
from valueloop.config import SiteConfig, load_site, prepare_site
from valueloop.errors import ConfigError
from valueloop.ingest.batches import KeyedIngest
from valueloop.ingest.deadletter import DeadLetterTable
from valueloop.ingest.pipeline import IngestPipeline
from valueloop.model.assets import SeriesRegistry
from valueloop.model.site import SiteModel
from valueloop.optimize.records import PlanBook
from valueloop.store import duckdb_file, open_store, store_url
from valueloop.store.appendonly import bind_seal
from valueloop.store.duckdb import DuckDBStore
from valueloop.store.seal import Seal
from valueloop.store.tiered import TieredStore
from valueloop.value.ledger import Ledger

DEFAULT_DATABASE = "valueloop.duckdb"
COLD_FOLDER = "cold"
SITE_COPY = "site.yaml"
"""The copy of its description a data directory keeps, so that later commands need no --site."""

_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    summary VARCHAR NOT NULL
)
"""


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def store_path(config: SiteConfig, data_dir: Path) -> Path:
    """The embedded DuckDB file of a site: its store URL's file, or ``valueloop.duckdb``."""
    return duckdb_file(store_url(config.store.url), data_dir) or data_dir / DEFAULT_DATABASE


def _points_store(config: SiteConfig, data_dir: Path, database: DuckDBStore) -> TieredStore:
    """The site's store of points with its Parquet cold tier under ``<data_dir>/cold``.

    The hot tier is the embedded database, unless the store URL names PostgreSQL.
    """
    url = store_url(config.store.url)
    hot = database if duckdb_file(url, data_dir) is not None else open_store(url, data_dir)
    return TieredStore(hot, data_dir / COLD_FOLDER)


def site_file_of(site_file: Path | None, data_dir: Path) -> Path:
    """``site_file``, or the description kept in ``data_dir`` when none is given."""
    if site_file is not None:
        return site_file
    kept = Path(data_dir) / SITE_COPY
    if not kept.is_file():
        raise ConfigError(
            f"{data_dir} keeps no site description yet; give the site.yaml with --site"
        )
    return kept


def _keep_copy(source: Path, folder: Path) -> None:
    """Keep the text of the site's description in its data directory (mode 0600)."""
    kept = folder / SITE_COPY
    if kept.exists() and kept.resolve() == source.resolve():
        return
    kept.touch(mode=0o600, exist_ok=True)
    kept.chmod(0o600)
    kept.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")


@dataclass
class Site:
    """A site's configuration, data directory and the books of each stage.

    ``store`` is the site's embedded database (every stage's tables); ``points`` is its time-series
    store, the same database by default or PostgreSQL when the store URL says so.
    """

    config: SiteConfig
    model: SiteModel
    data_dir: Path
    store: DuckDBStore
    points: TieredStore
    registry: SeriesRegistry
    pipeline: IngestPipeline
    batches: KeyedIngest
    predictions: PredictionBook
    anomalies: AnomalyBook
    plans: PlanBook
    work_orders: WorkOrders
    ledger: Ledger
    _field: Field | None = field(default=None, repr=False)

    @property
    def field(self) -> Field:
        """The set-point sinks of the site's connectors (opened at first use)."""
        if self._field is None:
            self._field = Field.of_connectors(self.config.connectors)
        return self._field

    @property
    def actions(self) -> ActionDesk:
        """The desk where work orders are proposed and decided under the site's policy."""
        return ActionDesk(self.work_orders, self.model, self.config.policy, self.setpoint_value)

    def actions_at(self, moment: datetime) -> ActionDesk:
        """The action desk on a clock stopped at ``moment`` (a job's ``now``)."""
        return ActionDesk(
            self.work_orders,
            self.model,
            self.config.policy,
            self.setpoint_value,
            now=lambda: moment,
        )

    def setpoint_value(self, asset: str, setpoint: str) -> float | None:
        """The value a set-point holds now: as the field reads it, else its latest stored
        reading, else the target of its last executed change (None when nothing tells)."""
        series = self.model.path(asset, setpoint)
        if self.field.knows(series) and not _in_event_loop():
            answer = asyncio.run(self.field.read(series))
            if answer.value is not None:
                return answer.value
        found = self.registry.resolve(pa.array([series], pa.string()))[0].as_py()
        if found is not None:
            latest = self.points.latest([int(found)])
            if latest.num_rows:
                value = latest.column("value")[0].as_py()
                if value is not None:
                    return float(value)
        executed = [
            order["setpoint"]
            for order in self.work_orders.in_states([OrderStatus.EXECUTED])
            if order["asset"] == asset and order["action"] == setpoint
        ]
        return float(executed[-1]) if executed else None

    def record_run(self, run_id: str, summary: dict[str, Any]) -> None:
        """Keep a run's machine-readable summary."""
        self.store.execute(
            "INSERT INTO runs VALUES (?, ?, ?)",
            [run_id, datetime.now(UTC), json.dumps(summary, sort_keys=True)],
        )

    def latest_summary(self) -> dict[str, Any] | None:
        """The newest run's summary, if any run finished."""
        rows = self.store.query("SELECT summary FROM runs ORDER BY started_at DESC LIMIT 1")
        if rows.num_rows == 0:
            return None
        summary: dict[str, Any] = json.loads(rows.column("summary")[0].as_py())
        return summary

    def close(self) -> None:
        """Close the set-point sinks and the stores."""
        if self._field is not None and not _in_event_loop():
            asyncio.run(self._field.close())
        self.points.close()
        if self.points.hot is not self.store:
            self.store.close()


def open_site(config: SiteConfig | Path | str, data_dir: Path | str) -> Site:
    """Open (creating if needed) the store of a site under ``data_dir``.

    The site's signals and set-points are registered in the series catalogue, so that they have
    ids (and units) before the first reading arrives.
    """
    site_config = (
        prepare_site(config, KINDS)
        if isinstance(config, SiteConfig)
        else load_site(config, kinds=KINDS)
    )
    folder = Path(data_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not isinstance(config, SiteConfig):
        _keep_copy(Path(config), folder)
    store = DuckDBStore(store_path(site_config, folder))
    bind_seal(store, Seal.open(folder))  # the audit trail and the ledger, sealed by the site key
    store.execute(_RUNS_DDL)
    registry = SeriesRegistry(store)
    model = SiteModel(site_config)
    registry.ensure(list(model.signal_series()))
    points = _points_store(site_config, folder, store)
    pipeline = IngestPipeline(points, registry, DeadLetterTable(store))
    return Site(
        config=site_config,
        model=model,
        data_dir=folder,
        store=store,
        points=points,
        registry=registry,
        pipeline=pipeline,
        batches=KeyedIngest(store, pipeline),
        predictions=PredictionBook(store),
        anomalies=AnomalyBook(store),
        plans=PlanBook(store),
        work_orders=WorkOrders(store),
        ledger=Ledger(store),
    )
