"""RUL metrics on hand-computed arrays, and the FD001 benchmark of the gradient-boosting model."""

from __future__ import annotations

import math
from typing import ClassVar, Self

import numpy as np
import pyarrow as pa
import pytest

from valueloop.analytics.evaluate import (
    RulEvaluation,
    evaluate_rul,
    evaluate_rul_all,
    interval_coverage,
    phm08_score,
    rmse,
)
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import load_true_rul
from valueloop.errors import DataError, ModelError


class _Oracle:
    """Predicts the published true RUL, rows in reverse unit order; ``rows`` keeps that many."""

    output_schema: ClassVar[pa.Schema] = GradientBoostingRUL.output_schema

    def __init__(self, *, rows: int = 100) -> None:
        self.rows = rows

    def get_params(self) -> dict[str, int]:
        return {"rows": self.rows}

    def fit(self, data: pa.Table) -> Self:
        return self

    def predict(self, data: pa.Table) -> pa.Table:
        truth = load_true_rul("FD001").slice(0, self.rows)
        rul = pa.array(truth["rul"].to_numpy().astype(float))
        table = pa.table({"unit": truth["unit"], "rul": rul, "lower": rul, "upper": rul})
        return table.take(pa.array(range(self.rows - 1, -1, -1)))


@pytest.fixture(scope="module")
def benchmark() -> RulEvaluation:
    return evaluate_rul(GradientBoostingRUL(), "FD001")


def test_rmse_on_a_small_array() -> None:
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))


def test_phm08_score_penalises_late_predictions_more() -> None:
    # d = pred - true = [-3, 0, 10, -10]
    expected = (math.exp(3 / 13) - 1) + 0 + (math.exp(1) - 1) + (math.exp(10 / 13) - 1)
    assert phm08_score([10, 20, 30, 40], [13, 20, 20, 50]) == pytest.approx(expected)
    assert phm08_score([60], [50]) > phm08_score([40], [50])


def test_interval_coverage_counts_closed_bounds() -> None:
    assert interval_coverage([0, 0, 0], [1, 1, 1], [0.5, 1.0, 2.0]) == pytest.approx(2 / 3)


def test_metrics_reject_mismatched_or_empty_input() -> None:
    with pytest.raises(DataError, match="one length"):
        rmse([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="zero"):
        phm08_score([], [])


def test_evaluation_aligns_predictions_to_engines_by_unit() -> None:
    perfect = evaluate_rul(_Oracle())
    assert (perfect.rmse, perfect.phm_score, perfect.coverage) == (0, 0, 1)
    assert perfect.n_engines == 100
    with pytest.raises(ModelError, match="one per test unit"):
        evaluate_rul(_Oracle(rows=99))


def test_fd001_benchmark_meets_the_bar(benchmark: RulEvaluation) -> None:
    assert benchmark.subset == "FD001"
    assert benchmark.n_engines == 100
    assert benchmark.rmse <= 16
    assert 0 < benchmark.phm_score < 1000
    assert 0.6 <= benchmark.coverage <= 1.0
    assert benchmark.fit_seconds > 0


def test_evaluate_rul_all_reports_each_subset_and_progress() -> None:
    calls: list[tuple[str, int, int]] = []
    results = evaluate_rul_all(
        lambda subset: GradientBoostingRUL(n_estimators=10, folds=2, threads=1),
        ("FD001",),
        lambda name, done, total: calls.append((name, done, total)),
    )
    assert calls == [("FD001", 0, 1), ("", 1, 1)]
    fd001 = results["FD001"]
    assert fd001["n_engines"] == 100 and fd001["model_version"].startswith("rul-gbm-")
    truth = load_true_rul("FD001")["rul"].to_numpy()
    assert fd001["rmse"] >= rmse(np.minimum(truth, 125), truth)  # no capped model beats the cap
    assert fd001["rmse_capped"] < fd001["rmse"]
    assert 0 <= fd001["coverage"] <= 1 and fd001["fit_cpu_seconds"] > 0
