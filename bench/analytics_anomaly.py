"""Anomaly detection benchmark: SKAB and the whole NAB corpus, each by its own protocol.

SKAB (34 labelled files; each detector fitted on the first 400 rows of each file, then one
streaming pass over the file; alarm = score > 0.5 for 5 rows): F1, FAR and MAR over the test rows
(row 400 on) beside SKAB's outlier leaderboard (best: Conv-AE, F1 0.78, FAR 13.55 %, MAR 28.02 %),
and changepoints scored with SKAB's own scorer beside its changepoint leaderboard (best: MSCRED,
32.42 standard).

NAB (58 files, 365,558 rows; one detector per file from its first row): NAB's scorer with threshold
optimisation per profile, normalised against the null and perfect detectors, beside the published
scoreboard (best: ARTime 74.9 standard; Numenta HTM about 70). The reported detector's
detections are written in NAB's results layout under
``bench/results/nab/<detector>/<category>/<detector>_<file>.csv`` and scored again from those files
(``rescored_from_files``), as NAB's runner scores its results folder.

    python bench/analytics_anomaly.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from common import RESULTS, write_result
from valueloop.analytics.anomaly import (
    AutoencoderDetector,
    Ensemble,
    EwmaZScore,
    IsolationForestDetector,
    StreamingDetector,
    evaluate_nab,
    evaluate_skab,
    nab_detector,
    skab_detector,
)
from valueloop.analytics.anomaly.data import nab_names
from valueloop.analytics.anomaly.evaluate import SKAB_SLOW_SIGNALS
from valueloop.analytics.anomaly.scoring.nab_files import score_results

SKAB_PUBLISHED = {"Conv-AE": (0.78, 13.55, 28.02), "T-squared+Q (PCA)": (0.76, 26.62, 24.92)}
SKAB_CP_PUBLISHED = {"MSCRED": (32.42, 16.53, 40.28), "Conv-AE": (23.61, 21.54, 27.55)}
NAB_PUBLISHED = {"ARTime": (74.9, 65.1, 80.4), "Numenta HTM": (70.1, 63.1, 74.3)}
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def skab_detectors() -> dict[str, Callable[[], StreamingDetector]]:
    """The SKAB detectors compared; the first is the one reported."""
    return {
        "pca_t2q": skab_detector,
        "isolation_forest": lambda: IsolationForestDetector(signals=8, slow=SKAB_SLOW_SIGNALS),
        "autoencoder": lambda: AutoencoderDetector(signals=8, slow=SKAB_SLOW_SIGNALS),
        "ensemble": lambda: Ensemble(
            members=[skab_detector(), IsolationForestDetector(signals=8, slow=SKAB_SLOW_SIGNALS)]
        ),
    }


def nab_detectors() -> dict[str, Callable[[int], StreamingDetector]]:
    """The NAB detectors compared; the first is the one reported."""
    return {
        "valueloop": nab_detector,
        "valueloopEwma": lambda rows: EwmaZScore(alpha=0.01, spread_alpha=0.01, warmup=750),
    }


def run() -> dict[str, Any]:
    """Score every detector on SKAB and NAB; returns ``{"skab": ..., "nab": ...}``."""
    skab: dict[str, Any] = {}
    nab: dict[str, Any] = {}
    with Progress(console=Console(stderr=True)) as progress:
        for name, factory in skab_detectors().items():
            skab[name] = evaluate_skab(progress, detector=factory)
        for number, (name, maker) in enumerate(nab_detectors().items()):
            folder = RESULTS / "nab" if number == 0 else None
            nab[name] = evaluate_nab(progress, folder, detector=maker, detector_name=name)
            if folder is not None:
                rescored = score_results(folder, name, nab_names())
                nab[name]["rescored_from_files"] = {p: r.score for p, r in rescored.items()}
    best_skab, best_nab = next(iter(skab.values())), next(iter(nab.values()))
    return {
        "skab": {key: best_skab[key] for key in ("f1", "far", "mar", "changepoint")}
        | {"detectors": skab},
        "nab": {key: best_nab[key] for key in PROFILES} | {"detectors": nab},
    }


def show(result: dict[str, Any]) -> None:
    """Print the two tables beside the published numbers."""
    console = Console()
    table = Table(title="SKAB (34 files; fit on the first 400 rows, scored from row 400)")
    columns = ("detector", "F1", "FAR %", "MAR %", "CP standard", "CP low FP", "CP low FN", "s")
    for column in columns:
        table.add_column(column, justify="right")
    for name, row in result["skab"]["detectors"].items():
        scores = row["changepoint"]
        table.add_row(
            name,
            f"{row['f1']:.3f}",
            f"{row['far']:.2f}",
            f"{row['mar']:.2f}",
            *(f"{scores[p]:.2f}" for p in ("standard", "low_fp", "low_fn")),
            f"{row['seconds']:.1f}",
        )
    for name, (f1, far, mar) in SKAB_PUBLISHED.items():
        table.add_row(f"{name} (published)", f"{f1:.2f}", f"{far:.2f}", f"{mar:.2f}", *[""] * 4)
    for name, scores in SKAB_CP_PUBLISHED.items():
        table.add_row(f"{name} (published)", "", "", "", *(f"{s:.2f}" for s in scores), "")
    console.print(table)
    table = Table(title="NAB v1 corpus (58 files), normalised scores")
    for column in ("detector", "standard", "low FP", "low FN", "time s"):
        table.add_column(column, justify="right")
    for name, row in result["nab"]["detectors"].items():
        table.add_row(name, *(f"{row[p]:.2f}" for p in PROFILES), f"{row['seconds']:.1f}")
    for name, scores in NAB_PUBLISHED.items():
        table.add_row(f"{name} (published)", *(f"{s:.1f}" for s in scores), "")
    console.print(table)


def main() -> None:
    result = run()
    show(result)
    path = write_result("analytics_anomaly", result)
    Console().print(f"written {path} and NAB results under {RESULTS / 'nab'}")


if __name__ == "__main__":
    main()
