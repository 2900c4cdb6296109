"""The model versions book: one row per fit, idempotent, newest per binding and asset."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from valueloop.analytics.versions import ModelVersion, ModelVersions
from valueloop.store.duckdb import DuckDBStore

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _fit(binding: str, asset: str, days: int, version: str) -> ModelVersion:
    end = T0 + timedelta(days=days)
    return ModelVersion(
        binding=binding,
        asset=asset,
        kind="pca_t2q",
        version=version,
        fitted_at=end,
        train_start=end - timedelta(days=7),
        train_end=end,
        rows=10_080,
        params={"variance": 0.9, "signals": ["vibration", "power"]},
        metrics={"train_rmse": 1.5},
    )


def test_fits_are_recorded_once_and_the_newest_is_latest(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "books.duckdb")
    versions = ModelVersions(store)
    assert versions.record(_fit("health", "compressor-1", 7, "a"))
    assert not versions.record(_fit("health", "compressor-1", 7, "a"))  # a repeated step
    assert versions.record(_fit("health", "compressor-1", 8, "b"))
    assert versions.record(_fit("health", "compressor-2", 7, "c"))
    assert versions.record(_fit("load_fc", "compressor-1", 7, "d"))

    latest = versions.latest().to_pylist()
    assert [(row["binding"], row["asset"], row["version"]) for row in latest] == [
        ("health", "compressor-1", "b"),
        ("health", "compressor-2", "c"),
        ("load_fc", "compressor-1", "d"),
    ]
    assert [row["version"] for row in versions.latest("health", "compressor-1").to_pylist()] == [
        "b"
    ]
    assert versions.latest(asset="compressor-2").num_rows == 1
    history = versions.history("health", "compressor-1").to_pylist()
    assert [row["version"] for row in history] == ["a", "b"]
    assert json.loads(history[0]["params"])["signals"] == ["vibration", "power"]
    assert json.loads(history[0]["metrics"]) == {"train_rmse": 1.5}
    assert history[1]["train_end"] == T0 + timedelta(days=8)
    store.close()
