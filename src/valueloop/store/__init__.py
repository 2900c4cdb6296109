"""Time-series stores behind one contract (:mod:`valueloop.store.base`), chosen by URL.

- ``duckdb:///path/to/file.duckdb``: the embedded default; a relative path is under the site's data
  directory. The same file also holds the site's other tables.
- ``postgresql://user@host:port/database?schema=name``: the server store (schema ``valueloop`` by
  default); the site's other tables stay in the embedded file.

``VALUELOOP_STORE_URL`` overrides the URL of ``site.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from valueloop.errors import ConfigError
from valueloop.store.base import TimeSeriesStore

DUCKDB_PREFIX = "duckdb:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")


def store_url(configured: str) -> str:
    """The store URL in force: ``VALUELOOP_STORE_URL`` if set, else the configured one."""
    return os.environ.get("VALUELOOP_STORE_URL") or configured


def duckdb_file(url: str, data_dir: Path) -> Path | None:
    """The file of a ``duckdb:///`` URL (relative paths under ``data_dir``), or None otherwise."""
    if not url.startswith(DUCKDB_PREFIX):
        return None
    path = Path(url[len(DUCKDB_PREFIX) :])
    if not path.name:
        raise ConfigError(f"store URL {url!r} names no file, e.g. duckdb:///valueloop.duckdb")
    return path if path.is_absolute() else data_dir / path


def postgres_target(url: str) -> tuple[str, str] | None:
    """The connection URL and schema of a ``postgresql://`` URL, or None otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        return None
    query = parse_qs(parts.query)
    schema = query.pop("schema", ["valueloop"])[0]
    rest = "&".join(f"{key}={value}" for key, values in query.items() for value in values)
    return urlunsplit(("postgresql", parts.netloc, parts.path, rest, "")), schema


def check_url(url: str) -> None:
    """Refuse a URL no backend understands, saying which forms are accepted."""
    if duckdb_file(url, Path(".")) is None and postgres_target(url) is None:
        raise ConfigError(
            f"store URL {url!r} is not understood; use duckdb:///path/file.duckdb or "
            "postgresql://user@host:5432/database?schema=valueloop"
        )


def open_store(url: str, data_dir: Path) -> TimeSeriesStore:
    """Open the time-series store a URL names (relative DuckDB paths under ``data_dir``)."""
    check_url(url)
    target = postgres_target(url)
    if target is not None:
        from valueloop.store.postgres import PostgresStore

        connection, schema = target
        return PostgresStore(connection, schema=schema)
    from valueloop.store.duckdb import DuckDBStore

    file = duckdb_file(url, data_dir)
    assert file is not None
    file.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBStore(file)
