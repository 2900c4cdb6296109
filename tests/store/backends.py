"""Every TimeSeriesStore backend, opened fresh for one test; the contract suite runs on each."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from tests.services import POSTGRES_URL, need_service

from valueloop.store.base import TimeSeriesStore
from valueloop.store.duckdb import DuckDBStore


@contextmanager
def duckdb_backend(folder: Path) -> Iterator[TimeSeriesStore]:
    store = DuckDBStore(folder / "points.duckdb")
    try:
        yield store
    finally:
        store.close()


@contextmanager
def postgres_backend(folder: Path) -> Iterator[TimeSeriesStore]:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    from valueloop.store.postgres import PostgresStore, drop_schema

    schema = f"vl_test_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(POSTGRES_URL, schema=schema)
    try:
        yield store
    finally:
        store.close()
        drop_schema(POSTGRES_URL, schema)


@contextmanager
def tiered_backend(folder: Path) -> Iterator[TimeSeriesStore]:
    """DuckDB hot tier with a Parquet cold tier; ``compact`` moves data across the boundary."""
    from valueloop.store.tiered import TieredStore

    store = TieredStore(DuckDBStore(folder / "hot.duckdb"), folder / "cold")
    try:
        yield store
    finally:
        store.close()


BACKENDS: dict[str, Callable[[Path], AbstractContextManager[TimeSeriesStore]]] = {
    "duckdb": duckdb_backend,
    "postgres": postgres_backend,
    "tiered": tiered_backend,
}
