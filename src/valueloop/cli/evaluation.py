"""``valueloop eval``: reproduce the analytics scores on the public data, with a progress bar.

``rul`` fits and scores remaining-useful-life models on their benchmark data (every subset of the
:mod:`valueloop.datasets` remaining-life benchmark by default), ``anomaly`` scores
the streaming detectors on SKAB and the whole NAB corpus (writing NAB-format result files), and
``forecast`` cross-validates the plant-output model on CCPP. Each prints its table; with
``--output`` its section is merged into that JSON file (``bench/results/analytics.json`` holds
the README's numbers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()

Output = Annotated[
    Path | None, typer.Option(help="Merge the results into this JSON file (created if absent).")
]


class Target(StrEnum):
    """What ``valueloop eval`` scores."""

    RUL = "rul"
    ANOMALY = "anomaly"
    FORECAST = "forecast"


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        yield progress


def _steps(progress: Progress, label: str) -> Callable[[str, int, int], None]:
    """A ``(name, done, total)`` callback driving one task of ``progress``."""
    task = progress.add_task(label, total=None)

    def advance(name: str, done: int, total: int) -> None:
        progress.update(task, completed=done, total=total, description=f"{label} {name}".strip())

    return advance


def merge_results(path: Path, section: dict[str, Any]) -> None:
    """Merge ``section`` into the JSON document at ``path``, keeping its other sections."""
    document: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    document.update(section)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def eval_rul(subsets: list[str], kind: str) -> dict[str, Any]:
    """The ``rul`` section: each subset's RMSE, PHM08 score and interval coverage (all subsets
    when none is named)."""
    from valueloop.datasets.rul_benchmark import SUBSETS, TITLE, evaluate_rul_all, rul_model

    subsets = subsets or list(SUBSETS)

    with _progress() as progress:
        results = evaluate_rul_all(
            lambda subset: rul_model(subset, kind),  # type: ignore[arg-type]
            subsets,
            _steps(progress, f"RUL {kind}"),
        )
    console.print(
        _table(
            f"{TITLE} ({kind})",
            ["subset", "RMSE", "PHM08", "coverage", "fit s"],
            [
                [
                    subset,
                    f"{r['rmse']:.2f}",
                    f"{r['phm_score']:.0f}",
                    f"{r['coverage']:.2f}",
                    f"{r['fit_seconds']:.0f}",
                ]
                for subset, r in results.items()
            ],
        )
    )
    return {"rul": results}


def eval_anomaly(results_dir: Path | None) -> dict[str, Any]:
    """The ``skab`` and ``nab`` sections."""
    from valueloop.analytics.anomaly.evaluate import evaluate_nab, evaluate_skab

    with _progress() as progress:
        skab = evaluate_skab(progress)
        nab = evaluate_nab(progress, results_dir)
    changepoint = skab["changepoint"]
    console.print(
        _table(
            "SKAB test rows: outliers, and changepoints by SKAB's scorer",
            ["F1", "FAR %", "MAR %", "CP standard", "CP low FP", "CP low FN"],
            [
                [
                    f"{skab['f1']:.3f}",
                    f"{skab['far']:.2f}",
                    f"{skab['mar']:.2f}",
                    *(f"{changepoint[p]:.2f}" for p in ("standard", "low_fp", "low_fn")),
                ]
            ],
        )
    )
    console.print(
        _table(
            "NAB, 58 series",
            ["standard", "reward low FP", "reward low FN"],
            [
                [
                    f"{nab['standard']:.1f}",
                    f"{nab['reward_low_FP_rate']:.1f}",
                    f"{nab['reward_low_FN_rate']:.1f}",
                ]
            ],
        )
    )
    return {"skab": skab, "nab": nab}


def eval_forecast() -> dict[str, Any]:
    """The ``ccpp`` section: 5x2-fold cross-validated RMSE and MAE of plant output (MW)."""
    from valueloop.analytics.plant_output import evaluate_ccpp

    with _progress() as progress:
        ccpp = evaluate_ccpp(progress=_steps(progress, "CCPP fold"))
    console.print(
        _table(
            "CCPP net electrical output, 5x2-fold CV",
            ["RMSE MW", "MAE MW"],
            [[f"{ccpp['rmse']:.3f}", f"{ccpp['mae']:.3f}"]],
        )
    )
    return {"ccpp": ccpp}


def evaluate(
    target: Annotated[Target, typer.Argument(help="rul, anomaly or forecast.")],
    dataset: Annotated[
        list[str] | None,
        typer.Option(help="Benchmark subsets for rul (repeat the option); all by default."),
    ] = None,
    model: Annotated[str, typer.Option(help="RUL model: gbm, sequence or ensemble.")] = "ensemble",
    nab_results: Annotated[
        Path | None, typer.Option(help="Write NAB-format result files under this folder.")
    ] = None,
    output: Output = None,
) -> None:
    """Score the analytics on the public data sets the way their fields score them."""
    if target is Target.RUL:
        section = eval_rul(dataset or [], model)
    elif target is Target.ANOMALY:
        section = eval_anomaly(nab_results)
    else:
        section = eval_forecast()
    if output is not None:
        merge_results(output, section)
        console.print(f"merged into {output}")
