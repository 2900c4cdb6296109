"""Shared helpers of the benchmarks: machine description and result files."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory_gib = 0.0
    try:
        with open("/proc/meminfo") as handle:
            kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
        memory_gib = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the date and machine."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def earlier_rows(
    paths: list[Path], settings: dict[str, Any], rows_of: Callable[[dict[str, Any]], list[Any]]
) -> dict[str, dict[str, Any]]:
    """Per-instance rows of earlier result files measured at the same ``settings``, by name.

    A long benchmark can be run in parts: each part writes its rows, and a later run keeps them
    (``--keep FILE ...``) and solves only the instances still missing. A file measured at other
    settings (another time limit or worker count) is refused, so one table never mixes them.
    Each kept row says when it was measured.
    """
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        document = json.loads(Path(path).read_text())
        differing = {k: document.get(k) for k, v in settings.items() if document.get(k) != v}
        if differing:
            raise SystemExit(f"{path}: measured at {differing}, not at {settings}; not kept")
        for row in rows_of(document):
            rows[row["instance"]] = {"measured": document["date"], **row}
    return rows


def choice(
    name: str, instances: list[str] | None, earlier: dict[str, dict[str, Any]]
) -> Literal["keep", "solve", "skip"]:
    """What a run does with instance ``name``: named ones are solved, else kept rows are kept.

    ``instances`` None means every instance of the benchmark.
    """
    if instances is not None and name in instances:
        return "solve"
    if name in earlier:
        return "keep"
    return "solve" if instances is None else "skip"
