"""The benchmark runners end to end on one SKAB file and one NAB file."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from valueloop.analytics.anomaly import evaluate_nab, evaluate_skab
from valueloop.analytics.anomaly.scoring.nab_files import score_results


def test_one_skab_file_end_to_end() -> None:
    result = evaluate_skab(names=["valve1/0.csv"])
    assert result["files"] == 1 and result["rows"] == 1147 - 400  # SKAB's test rows
    counts = result["counts"]
    prevalence = (counts["tp"] + counts["fn"]) / result["rows"]
    alarm_rate = (counts["tp"] + counts["fp"]) / result["rows"]
    random_f1 = 2 * prevalence * alarm_rate / (prevalence + alarm_rate)  # same rate, at random
    assert result["f1"] > random_f1 + 0.05
    assert 0.0 <= result["far"] < 100.0 and 0.0 <= result["mar"] < 100.0
    changepoint = result["changepoint"]
    assert changepoint["changepoints"] == 4  # SKAB_SOURCE: valve1/0.csv has 4 changepoints
    assert changepoint["missed"] < 4 and changepoint["standard"] > 0.0


def test_one_nab_file_end_to_end(tmp_path: Path) -> None:
    name = "realKnownCause/machine_temperature_system_failure.csv"
    result = evaluate_nab(results_dir=tmp_path, names=[name], detector_name="vl")
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert 0.0 < result[profile] <= 100.0  # better than the null detector
    written = tmp_path / "vl" / "realKnownCause" / "vl_machine_temperature_system_failure.csv"
    table = pacsv.read_csv(written)
    assert table.column_names == ["timestamp", "value", "anomaly_score", "label"]
    assert table.num_rows == result["rows"] == 22695
    rescored = score_results(tmp_path, "vl", [name])
    for profile, scored in rescored.items():
        assert scored.score == pytest.approx(result[profile], abs=1e-9)
