"""The C-MAPSS RUL benchmark: presets per subset and the protocol, on FD001."""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
import pyarrow as pa
import pytest

from valueloop.analytics.ensemble import EnsembleRUL
from valueloop.analytics.evaluate import rmse
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import OPERATING_SETTINGS, load_true_rul
from valueloop.datasets.rul_benchmark import (
    RulEvaluation,
    evaluate_rul,
    evaluate_rul_all,
    rul_model,
)
from valueloop.errors import ModelError


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
    return evaluate_rul(GradientBoostingRUL(settings=OPERATING_SETTINGS), "FD001")


def test_evaluation_aligns_predictions_to_engines_by_unit() -> None:
    perfect = evaluate_rul(_Oracle())
    assert (perfect.rmse, perfect.phm_score, perfect.coverage) == (0, 0, 1)
    assert perfect.n_engines == 100
    with pytest.raises(ModelError, match="one per test unit"):
        evaluate_rul(_Oracle(rows=99))


def test_fd001_benchmark_meets_the_bar(benchmark: RulEvaluation) -> None:
    assert benchmark.subset == "FD001"
    assert benchmark.n_engines == 100
    # the demo's model: README gives RMSE 13.26, PHM08 248 and a coverage of 84 %
    assert benchmark.rmse == pytest.approx(13.26, abs=1.0)
    assert benchmark.phm_score == pytest.approx(248, rel=0.2)
    assert benchmark.coverage == pytest.approx(0.84, abs=0.05)
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


def test_presets_normalise_by_condition_only_where_needed() -> None:
    assert rul_model("FD002", "gbm").get_params()["conditions"] == 6
    assert rul_model("FD001", "gbm").get_params()["settings"] == list(OPERATING_SETTINGS)
    assert rul_model("FD001", "sequence").get_params()["conditions"] == 1
    assert isinstance(rul_model("FD004"), EnsembleRUL)
    with pytest.raises(ModelError, match="FD005"):
        rul_model("FD005")
