"""Measurement and verification: baseline speed, the opendsm agreement, injected-savings recovery.

Three parts, written to ``bench/results/mv.json``:

- ``timing``: fit on one meter-year of hourly readings (opendsm's sample
  ``il-electricity-cdd-hdd-hourly``, the 365 days before its blackout) and prediction of the
  following reporting year, per baseline kind, best of ``--repeat``. Beside each, a raw ceiling
  measured in the same run: numpy's ``lstsq`` on the regression kind's own design matrix (the
  least squares alone, no statistics), one LightGBM fit with the gradient-boosting kind's
  settings (the kind fits it ``folds + 1`` times for out-of-sample statistics), and opendsm's own
  hourly model on the same meter-year.
- ``agreement``: the daily change-point baseline against opendsm's daily model on opendsm's sample
  meters, the cases and tolerance of ``tests/value/test_opendsm_peer.py``.
- ``injected``: injected-savings recovery, daily and hourly, on opendsm's four simulated Illinois
  meters and its three UK meters of homes with more than a year after their blackout. The Illinois
  samples carry a saving opendsm injected from the end of their blackout on (10 % of every load
  component: its metadata gives 10,000 kWh a year before and 9,000 after), so the reporting year
  divided by 0.9 is that year without its saving; the UK samples are used after their blackout
  only (``tests/value/baseline_samples.uk_periods``). Each consecutive 30-day window of a
  reporting period has a known saving of ``s`` (0 to 20 %) injected (the readings times
  ``1 - s``); the baseline fitted on the reference year measures it, and the table says how often
  the stated 68 % and 90 % intervals hold the injected saving, beside the share Guideline 14's
  fractional form of the same uncertainty (scaled by the window's use over the reference mean)
  would hold. Every figure of that table is of an injected saving.

    python bench/mv.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from common import write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.value.baseline_samples import UK_SAMPLES, Periods, opendsm_periods
from tests.value.injected_windows import IL_SAMPLES, INJECTED, TIMEZONE, WINDOW_DAYS, recovery
from tests.value.test_opendsm_peer import CASES, opendsm_daily

from valueloop.value.baselines import Baseline, baseline_class
from valueloop.value.baselines.frame import read_frame
from valueloop.value.baselines.regression import indicators, levels_of

console = Console()
HOURLY_SAMPLE = "il-electricity-cdd-hdd-hourly"
COVERAGE_SIZE = 0.10
"""The injected size the coverage table is of (every size gives the same error)."""
KINDS: dict[str, dict[str, Any]] = {
    "changepoint_hourly": {"timezone": TIMEZONE},
    "regression": {"regressors": ["temperature"], "calendar": ["hour_of_week"]},
    "gradient_boosting": {"regressors": ["temperature"], "calendar": ["hour_of_week"]},
}
"""The kinds timed on the hourly meter-year and their settings."""


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall time of ``repeat`` runs of ``work`` (seconds) and its last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def make(kind: str, settings: dict[str, Any]) -> Baseline:
    """An unfitted baseline of ``kind``."""
    return baseline_class(kind)(**{"timezone": TIMEZONE, **settings})


def lstsq_ceiling(reference: pa.Table, repeat: int) -> float:
    """numpy's least squares on the regression kind's design: intercept, temperature and an
    indicator per hour of the week (the first dropped)."""
    frame = read_frame(
        reference, ["value", "temperature"], calendar=["hour_of_week"], timezone=TIMEZONE
    )
    frame = frame.rows(frame.complete)
    dummies, _ = indicators(
        frame.calendar, levels_of(frame.calendar), rows=len(frame), drop_first=True
    )
    x = np.column_stack([np.ones(len(frame)), frame.column("temperature"), dummies])
    y = frame.column("value")
    seconds, _ = best_of(repeat, lambda: np.linalg.lstsq(x, y, rcond=None))
    return seconds


def lightgbm_ceiling(reference: pa.Table, repeat: int) -> float:
    """One LightGBM fit with the gradient-boosting kind's default settings, same features."""
    import lightgbm

    frame = read_frame(
        reference, ["value", "temperature"], calendar=["hour_of_week"], timezone=TIMEZONE
    )
    frame = frame.rows(frame.complete)
    x = np.column_stack([frame.column("temperature"), frame.calendar["hour_of_week"]])
    params = {
        "objective": "regression",
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "seed": 0,
        "verbose": -1,
        "num_threads": 1,
    }

    def fit() -> Any:
        data = lightgbm.Dataset(x, frame.column("value"), categorical_feature=[1])
        return lightgbm.train(params, data, num_boost_round=200)

    seconds, _ = best_of(repeat, fit)
    return seconds


def opendsm_hourly(periods: Periods, repeat: int) -> dict[str, float]:
    """opendsm's hourly model on the same meter-year: fit and reporting-year prediction times."""
    import pandas as pd
    from opendsm import eemeter

    logging.getLogger("eemeter").setLevel(logging.ERROR)

    def frame(table: pa.Table) -> Any:
        index = pd.DatetimeIndex(table["ts"].to_numpy()).tz_localize("UTC")
        return pd.DataFrame(
            {
                "observed": table["value"].to_numpy(zero_copy_only=False),
                "temperature": table["temperature"].to_numpy(zero_copy_only=False),
            },
            index=index,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline = eemeter.HourlyBaselineData(frame(periods.reference), is_electricity_data=True)
        reporting = eemeter.HourlyReportingData(frame(periods.reporting), is_electricity_data=True)
        fit, model = best_of(
            repeat, lambda: eemeter.HourlyModel().fit(baseline, ignore_disqualification=True)
        )
        predict, _ = best_of(repeat, lambda: model.predict(reporting, ignore_disqualification=True))
    return {"fit_s": fit, "predict_s": predict}


def timing(repeat: int) -> dict[str, Any]:
    """Fit and prediction times per meter-year of hourly readings, with the raw ceilings."""
    periods = opendsm_periods(HOURLY_SAMPLE)
    kinds = {}
    for kind, settings in KINDS.items():
        fit, fitted = best_of(repeat, lambda k=kind, s=settings: make(k, s).fit(periods.reference))
        predict, _ = best_of(repeat, lambda f=fitted: f.predict(periods.reporting))
        kinds[kind] = {
            "fit_s": fit,
            "predict_s": predict,
            "cv_rmse": fitted.statistics().cv_rmse,
            "passes_g14": fitted.statistics().passes,
        }
    kinds["regression"]["ceiling"] = {
        "what": "numpy lstsq of the same design matrix",
        "fit_s": lstsq_ceiling(periods.reference, repeat),
    }
    kinds["gradient_boosting"]["ceiling"] = {
        "what": "one LightGBM fit, same features and settings",
        "fit_s": lightgbm_ceiling(periods.reference, repeat),
    }
    kinds["changepoint_hourly"]["ceiling"] = {
        "what": "opendsm HourlyModel, same meter-year",
        **opendsm_hourly(periods, repeat),
    }
    return {
        "sample": HOURLY_SAMPLE,
        "reference_rows": periods.reference.num_rows,
        "reporting_rows": periods.reporting.num_rows,
        "repeat": repeat,
        "kinds": kinds,
    }


def agreement() -> list[dict[str, Any]]:
    """The daily change-point baseline beside opendsm's daily model (the peer test's cases)."""
    rows = []
    for sample, settings in CASES:
        periods = opendsm_periods(sample)
        ours = make("changepoint_daily", {}).fit(periods.reference)
        result = ours.savings(periods.reporting)
        theirs, theirs_cv = opendsm_daily(periods, settings)
        model = ours.describe()
        rows.append(
            {
                "sample": sample,
                "opendsm_model": settings,
                "form": model["form"],
                "heating_balance_point": model["heating_balance_point"],
                "cooling_balance_point": model["cooling_balance_point"],
                "total": result.counterfactual,
                "opendsm_total": theirs,
                "gap": (result.counterfactual - theirs) / theirs,
                "uncertainty_68": result.uncertainty[0.68],
                "within_68": abs(result.counterfactual - theirs) < result.uncertainty[0.68],
                "cv_rmse": ours.statistics().cv_rmse,
                "opendsm_cv_rmse": theirs_cv,
                "passes_g14": ours.statistics().passes,
            }
        )
    return rows


def coverage(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per interval and source (and both together), one injected size since the size does not
    change the error: windows, the mean error of the verified saving and the mean 90 %
    uncertainty (both as a fraction of the window's use, since the meters' units differ), how
    often each interval holds the injected saving, and how often Guideline 14's fractional form
    would."""
    table = []
    for interval in ("daily", "hourly"):
        for source in ("Illinois, simulated", "UK homes", "all"):
            chosen = [
                r
                for r in rows
                if r["interval"] == interval
                and r["injected_fraction"] == COVERAGE_SIZE
                and source in (r["source"], "all")
            ]

            def share(name: str, chosen: list[dict[str, Any]] = chosen) -> float:
                return float(np.mean([r[name] for r in chosen]))

            table.append(
                {
                    "interval": interval,
                    "source": source,
                    "windows": len(chosen),
                    "meters": len({r["sample"] for r in chosen}),
                    "mean_error_of_use": float(
                        np.mean([(r["verified"] - r["injected"]) / r["use"] for r in chosen])
                    ),
                    "mean_uncertainty_90_of_use": float(
                        np.mean([r["uncertainty_90"] / r["use"] for r in chosen])
                    ),
                    "coverage_68": share("covered_68"),
                    "coverage_90": share("covered_90"),
                    "fractional_form_coverage_68": share("fractional_form_covered_68"),
                    "fractional_form_coverage_90": share("fractional_form_covered_90"),
                }
            )
    return table


def show(result: dict[str, Any]) -> None:
    """Print the three tables."""
    times = Table(title="hourly meter-year: fit and reporting-year prediction (s)")
    for name in ("kind", "fit", "predict", "ceiling", "ceiling fit", "ceiling predict"):
        times.add_column(name)
    for kind, row in result["timing"]["kinds"].items():
        ceiling = row["ceiling"]
        times.add_row(
            kind,
            f"{row['fit_s']:.3f}",
            f"{row['predict_s']:.3f}",
            ceiling["what"],
            f"{ceiling['fit_s']:.3f}",
            f"{ceiling['predict_s']:.3f}" if "predict_s" in ceiling else "",
        )
    console.print(times)
    peers = Table(title="daily change-point vs opendsm")
    for name in ("sample", "opendsm", "total", "opendsm total", "gap", "ΔE 68 %", "CV", "CV od"):
        peers.add_column(name)
    for row in result["agreement"]:
        peers.add_row(
            row["sample"],
            row["opendsm_model"],
            f"{row['total']:.1f}",
            f"{row['opendsm_total']:.1f}",
            f"{row['gap']:+.2%}",
            f"{row['uncertainty_68']:.1f}",
            f"{row['cv_rmse']:.1%}",
            f"{row['opendsm_cv_rmse']:.1%}",
        )
    console.print(peers)
    injected = Table(title="injected savings (injected, not real): coverage of the intervals")
    for name in (
        "interval",
        "meters",
        "windows",
        "error of use",
        "ΔE 90 % of use",
        "68 %",
        "90 %",
        "fractional 68 %",
        "fractional 90 %",
    ):
        injected.add_column(name)
    for row in result["injected"]["coverage"]:
        injected.add_row(
            f"{row['interval']}, {row['source']}",
            str(row["meters"]),
            str(row["windows"]),
            f"{row['mean_error_of_use']:+.2%}",
            f"{row['mean_uncertainty_90_of_use']:.2%}",
            f"{row['coverage_68']:.2f}",
            f"{row['coverage_90']:.2f}",
            f"{row['fractional_form_coverage_68']:.2f}",
            f"{row['fractional_form_coverage_90']:.2f}",
        )
    console.print(injected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    arguments = parser.parse_args()
    rows = [
        row
        for interval in ("daily", "hourly")
        for sample in (*IL_SAMPLES, *UK_SAMPLES)
        for row in recovery(sample, interval)
    ]
    result = {
        "timing": timing(arguments.repeat),
        "agreement": agreement(),
        "injected": {
            "sizes": list(INJECTED),
            "window_days": WINDOW_DAYS,
            "samples": [*IL_SAMPLES, *UK_SAMPLES],
            "coverage_size": COVERAGE_SIZE,
            "coverage": coverage(rows),
            "rows": rows,
        },
    }
    show(result)
    console.print(f"written to {write_result('mv', result)}")


if __name__ == "__main__":
    main()
