"""The benchmark runners end to end, pinned near README's figures so that a regression fails.

README (anomaly results): SKAB F1 0.827, FAR 20.66 %, MAR 16.99 %, changepoints 30.33 / 25.65 /
34.66 (SKAB's scorer); NAB 68.99 / 61.34 / 73.58. The runs are deterministic; the tolerances
leave room for numerical noise across platforms, not for a worse detector.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from valueloop.analytics.anomaly import evaluate_nab, evaluate_skab
from valueloop.analytics.anomaly.scoring.nab_files import score_results

SKAB_README = {"f1": 0.827, "far": 20.66, "mar": 16.99}
SKAB_CHANGEPOINTS_README = {"standard": 30.33, "low_fp": 25.65, "low_fn": 34.66}
NAB_README = {"standard": 68.99, "reward_low_FP_rate": 61.34, "reward_low_FN_rate": 73.58}


def test_skab_end_to_end_at_readme_figures() -> None:
    result = evaluate_skab()
    assert result["files"] == 34 and result["rows"] == 23801  # SKAB's test rows, from row 400
    assert result["f1"] == pytest.approx(SKAB_README["f1"], abs=0.02)
    assert result["far"] == pytest.approx(SKAB_README["far"], abs=1.0)
    assert result["mar"] == pytest.approx(SKAB_README["mar"], abs=1.0)
    changepoint = result["changepoint"]
    assert changepoint["changepoints"] == 127
    for profile, published in SKAB_CHANGEPOINTS_README.items():
        assert changepoint[profile] == pytest.approx(published, abs=1.0), profile


def test_nab_end_to_end_at_readme_figures() -> None:
    result = evaluate_nab()
    assert result["files"] == 58 and result["rows"] == 365558
    for profile, published in NAB_README.items():
        assert result[profile] == pytest.approx(published, abs=0.5), profile


def test_one_nab_file_rescored_from_its_results_file(tmp_path: Path) -> None:
    name = "realKnownCause/machine_temperature_system_failure.csv"
    result = evaluate_nab(results_dir=tmp_path, names=[name], detector_name="vl")
    for profile in NAB_README:
        assert 0.0 < result[profile] <= 100.0  # better than the null detector
    written = tmp_path / "vl" / "realKnownCause" / "vl_machine_temperature_system_failure.csv"
    table = pacsv.read_csv(written)
    assert table.column_names == ["timestamp", "value", "anomaly_score", "label"]
    assert table.num_rows == result["rows"] == 22695
    rescored = score_results(tmp_path, "vl", [name])
    for profile, scored in rescored.items():
        assert scored.score == pytest.approx(result[profile], abs=1e-9)
