"""NAB's results files: one CSV per data file, in the layout NAB's own scorer reads unchanged.

``<results>/<detector>/<category>/<detector>_<file>.csv`` with the header
``timestamp,value,anomaly_score,label``: the data file's timestamps and values, the detector's
score in ``[0, 1]`` and NAB's label (1 inside a labelled window, else 0). :func:`score_results`
scores such a folder back, as NAB's runner does from its results folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from valueloop.analytics.anomaly.data import NabSeries, Stamps, Vector, nab_root, nab_windows_json
from valueloop.analytics.anomaly.scoring.nab import (
    ProfileResult,
    load_profiles,
    parse_windows,
    score_corpus,
)
from valueloop.errors import DataError


def results_path(results_dir: Path, detector: str, name: str) -> Path:
    """Where NAB expects the results of ``detector`` for corpus path ``category/file.csv``."""
    category, file_name = name.split("/", 1)
    return results_dir / detector / category / f"{detector}_{file_name}"


def nab_labels(series: NabSeries, windows: list[tuple[np.datetime64, np.datetime64]]) -> Vector:
    """NAB's per-row label: 1 for rows inside a window (inclusive), else 0."""
    labels = np.zeros(series.values.size)
    for start, end in windows:
        labels[(series.timestamps >= start) & (series.timestamps <= end)] = 1
    return labels


def write_results(
    results_dir: Path,
    detector: str,
    series: NabSeries,
    scores: Vector,
    windows: list[tuple[np.datetime64, np.datetime64]],
) -> Path:
    """Write one results CSV; returns its path."""
    if scores.shape != series.values.shape:
        raise DataError(f"{series.name}: {scores.size} scores for {series.values.size} rows")
    path = results_path(results_dir, detector, series.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamps = pa.array(series.timestamps.astype("datetime64[s]"), pa.timestamp("s"))
    table = pa.table(
        {
            "timestamp": pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S"),
            "value": pa.array(series.values),
            "anomaly_score": pa.array(scores),
            "label": pa.array(nab_labels(series, windows).astype(np.int64)),
        }
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    try:
        with path.open("wb") as handle:
            handle.write(b"timestamp,value,anomaly_score,label\n")
            pacsv.write_csv(table, handle, write_options=options)
    except OSError as err:
        raise DataError(f"cannot write NAB results to {path}: {err}") from err
    return path


def score_results(results_dir: Path, detector: str, names: list[str]) -> dict[str, ProfileResult]:
    """Score the results files of ``detector`` for the corpus paths ``names``, per profile."""
    labels = nab_windows_json()
    scores: dict[str, Vector] = {}
    stamps: dict[str, Stamps] = {}
    for name in names:
        path = results_path(results_dir, detector, name)
        if not path.is_file():
            raise DataError(f"{path} not found: run the detector on {name} first")
        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(timestamp_parsers=["%Y-%m-%d %H:%M:%S"])
        )
        scores[name] = table["anomaly_score"].to_numpy().astype(np.float64)
        stamps[name] = table["timestamp"].cast(pa.timestamp("s")).to_numpy().astype("datetime64[s]")
    windows = {name: parse_windows(labels[name]) for name in names}
    profiles = load_profiles(nab_root() / "config" / "profiles.json.gz")
    return {p.name: score_corpus(scores, stamps, windows, p) for p in profiles}
