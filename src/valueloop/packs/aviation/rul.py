"""The fleet's remaining-life model: fitted once on the subset's training engines, kept on disk.

The model is :class:`~valueloop.analytics.rul.GradientBoostingRUL` with its defaults, told that the
three operating settings of C-MAPSS are settings and not sensors, fitted on two threads (its fit
is the same on any number of threads; on a two-core machine busy with other processes the second
OpenMP thread can be slower than one). A fitted model is saved under the site's data directory
(``models/<version>.json``), so a restarted job loads it instead of fitting again. Predictions
are rows of the site's prediction book: remaining life in cycles, with the model's interval.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import OPERATING_SETTINGS, load_cmapss
from valueloop.packs.aviation.fleet import Fleet

if TYPE_CHECKING:
    from valueloop.site import Site


def model_path(site: Site, version: str) -> Path:
    """Where a site keeps the saved model of a version."""
    folder = site.data_dir / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{version}.json"


def fit_model(site: Site, fleet: Fleet) -> GradientBoostingRUL:
    """A model fitted on the training engines of the fleet's subset, saved in the site."""
    model = GradientBoostingRUL(settings=OPERATING_SETTINGS, threads=2)
    model.fit(load_cmapss(fleet.spec.subset, "train"))
    model.save(model_path(site, model.version))
    return model


def load_model(site: Site, version: str) -> GradientBoostingRUL | None:
    """The saved model of ``version``, None if the site has no such file."""
    path = model_path(site, version)
    return GradientBoostingRUL.load(path) if path.is_file() else None


def training_lifetimes(subset: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Run-to-failure lifetime (cycles) of every training engine of a C-MAPSS subset."""
    train = load_cmapss(subset, "train")
    grouped = train.group_by("unit").aggregate([("cycle", "max")])
    return np.asarray(grouped.column("cycle_max").to_numpy(), dtype=np.float64)


def prediction_rows(
    fleet: Fleet,
    run_id: str,
    predictions: pa.Table,
    model: GradientBoostingRUL,
    as_of: datetime | pa.Array,
) -> pa.Table:
    """Rows of the prediction book for the model's ``predictions`` (one per unit)."""
    n = predictions.num_rows
    stamps = as_of if isinstance(as_of, pa.Array) else pa.array([as_of] * n)
    return pa.table(
        {
            "run_id": [run_id] * n,
            "as_of": stamps.cast(pa.timestamp("us", tz="UTC")),
            "asset": [fleet.series.assets[u] for u in predictions.column("unit").to_pylist()],
            "cycle": predictions.column("cycle"),
            "rul": predictions.column("rul"),
            "lower": predictions.column("lower"),
            "upper": predictions.column("upper"),
            "interval": [model.interval] * n,
            "model_version": [model.version] * n,
        }
    )
