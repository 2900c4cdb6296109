"""The vendored CVRPLIB and Solomon instances, their solutions and published values."""

from __future__ import annotations

import csv
from pathlib import Path

from valueloop.datasets import data_dir

CVRP = data_dir() / "opt" / "cvrp"
VRPTW = data_dir() / "opt" / "vrptw"


def cvrp_file(name: str, suffix: str = ".vrp") -> Path:
    """The instance (or ``.sol``) file of a CVRPLIB instance such as ``A-n32-k5``."""
    return CVRP / name.split("-")[0] / f"{name}{suffix}"


def solomon_file(name: str) -> Path:
    """The instance file of a Solomon instance such as ``C101``."""
    return VRPTW / "solomon" / f"{name}.txt"


def published(folder: Path) -> dict[str, dict[str, str]]:
    """Rows of a folder's ``bks.csv`` by instance name."""
    with (folder / "bks.csv").open() as handle:
        return {row["instance"]: row for row in csv.DictReader(handle)}
