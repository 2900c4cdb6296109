"""Readers of the two anomaly benchmarks shipped in ``data/``: NAB and SKAB.

Both are read from the gzipped copies under :func:`valueloop.datasets.data_dir` (``nab/`` and
``skab/``, see their ``SOURCE.md``). Timestamps are naive local times as published; they are kept
as ``datetime64[s]`` arrays.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from valueloop.datasets import data_dir
from valueloop.errors import DataError

Stamps = npt.NDArray[np.datetime64]
Vector = npt.NDArray[np.float64]

SKAB_SIGNALS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
SKAB_FOLDERS = ("valve1", "valve2", "other")


@dataclass(frozen=True)
class NabSeries:
    """One NAB data file: ``name`` is its corpus path (``category/file.csv``)."""

    name: str
    timestamps: Stamps
    values: Vector

    @property
    def category(self) -> str:
        """The NAB category folder, e.g. ``realKnownCause``."""
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class SkabFile:
    """One SKAB experiment: 8 signals at ~1 s, point labels and changepoint labels (0/1)."""

    name: str
    timestamps: Stamps
    values: npt.NDArray[np.float64]
    anomaly: npt.NDArray[np.int8]
    changepoint: npt.NDArray[np.int8]


def _read_csv(path: Path, *, delimiter: str = ",") -> pa.Table:
    if not path.is_file():
        raise DataError(f"{path} not found: the data/ folder is incomplete (see its SOURCE.md)")
    try:
        return pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(timestamp_parsers=["%Y-%m-%d %H:%M:%S"]),
        )
    except pa.ArrowInvalid as err:
        raise DataError(f"{path}: cannot parse as CSV ({err}); restore it from its source") from err


def _stamps(table: pa.Table, column: str, path: Path) -> Stamps:
    if column not in table.column_names:
        raise DataError(f"{path}: no '{column}' column (line 1 has {table.column_names})")
    return np.asarray(table[column].cast(pa.timestamp("s")).to_numpy(), dtype="datetime64[s]")


def read_json(path: Path) -> Any:
    """A gzipped or plain JSON file, with a clear error when missing or malformed."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as handle:
            return json.load(handle)
    except FileNotFoundError as err:
        raise DataError(f"{path} not found: the data/ folder is incomplete") from err
    except json.JSONDecodeError as err:
        raise DataError(f"{path}, line {err.lineno}: invalid JSON ({err.msg})") from err


def nab_root() -> Path:
    """The NAB folder: ``data/<category>/*.csv.gz``, ``labels/``, ``config/``."""
    return data_dir() / "nab"


def nab_names() -> list[str]:
    """The 58 corpus paths of NAB (``category/file.csv``), sorted, from its windows file."""
    return sorted(nab_windows_json())


def nab_windows_json() -> dict[str, list[list[str]]]:
    """``labels/combined_windows.json``: corpus path -> list of [start, end] timestamp strings."""
    windows: dict[str, list[list[str]]] = read_json(
        nab_root() / "labels" / "combined_windows.json.gz"
    )
    return windows


def load_nab_series(name: str) -> NabSeries:
    """Read one NAB file by corpus path, e.g. ``realKnownCause/nyc_taxi.csv``."""
    path = nab_root() / "data" / f"{name}.gz"
    table = _read_csv(path)
    if "value" not in table.column_names:
        raise DataError(f"{path}: no 'value' column (line 1 has {table.column_names})")
    values = table["value"].cast(pa.float64()).to_numpy(zero_copy_only=False)
    return NabSeries(name, _stamps(table, "timestamp", path), np.asarray(values, np.float64))


def skab_names() -> list[str]:
    """The 34 labelled SKAB files (``valve1/``, ``valve2/``, ``other/``), in numeric order."""
    root = data_dir() / "skab"
    names = [
        f"{folder}/{path.name.removesuffix('.gz')}"
        for folder in SKAB_FOLDERS
        for path in (root / folder).glob("*.csv.gz")
    ]
    if not names:
        raise DataError(f"no SKAB files under {root}: the data/ folder is incomplete")
    return sorted(names, key=lambda n: (n.split("/")[0], int(n.split("/")[1].split(".")[0])))


def load_skab_file(name: str) -> SkabFile:
    """Read one labelled SKAB file by its path under ``skab/``, e.g. ``valve1/0.csv``."""
    path = data_dir() / "skab" / f"{name}.gz"
    table = _read_csv(path, delimiter=";")
    missing = [c for c in (*SKAB_SIGNALS, "anomaly", "changepoint") if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: line 1 lacks the columns {missing}")
    values = np.column_stack(
        [table[c].cast(pa.float64()).to_numpy(zero_copy_only=False) for c in SKAB_SIGNALS]
    )
    labels = [
        table[c].cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.int8)
        for c in ("anomaly", "changepoint")
    ]
    return SkabFile(name, _stamps(table, "datetime", path), values, labels[0], labels[1])
