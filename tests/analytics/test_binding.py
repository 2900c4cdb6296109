"""A detector bound to an asset's signals and run as an engine job, on a SKAB valve experiment.

The eight signals of SKAB ``valve1/1.csv`` (1 s, anomaly-free for the first 400 rows, then a
valve fault) are stored as series of one asset; a ``pca_t2q`` binding scores them through the store.
Measured: 91.0 % of the fault rows score above 0.5, 7.5 % of the healthy rows after the training
window do (no persistence filter).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from tests.analytics.bindings import Plant, run, utc

from valueloop.analytics import binding as binding_module
from valueloop.analytics.anomaly.data import SKAB_SIGNALS, SkabFile, load_skab_file
from valueloop.analytics.binding import AnalyticsJob, ResolvedBinding
from valueloop.analytics.versions import ModelVersions
from valueloop.engine.job import JobState
from valueloop.errors import ConfigError
from valueloop.schema import Quality

SIGNALS = tuple(re.sub(r"\W+", "_", name).strip("_").lower() for name in SKAB_SIGNALS)
SECOND = timedelta(seconds=1)
WINDOW = timedelta(seconds=400)
MINUTE = timedelta(minutes=1)


@dataclass
class Skab:
    """A SKAB experiment stored as series of one asset."""

    plant: Plant
    data: SkabFile
    inputs: list[int]

    @property
    def start(self) -> datetime:
        return utc(self.data.timestamps[0])

    @property
    def end(self) -> datetime:
        """A little after the last row, so the last cells are whole and processed."""
        return utc(self.data.timestamps[-1]) + 10 * SECOND

    def binding(self, name: str = "health", **fields: Any) -> ResolvedBinding:
        """A PCA T-squared + Q binding over the eight signals, trained on 400 s at 1 s."""
        settings: dict[str, Any] = {
            "name": name,
            "kind": "pca_t2q",
            "asset": self.plant.asset,
            "inputs": tuple(self.inputs),
            "input_names": SIGNALS,
            "outputs": {"score": self.plant.ids([f"{name}_score"])[0]},
            "params": {"slow": ["temperature", "thermocouple"]},
            "window": WINDOW,
            "resample": SECOND,
            "min_points": 300,
            "threshold": 0.5,
            "every": MINUTE,
        }
        settings.update(fields)
        return ResolvedBinding(**settings)

    def job(self, binding: ResolvedBinding) -> AnalyticsJob:
        return AnalyticsJob(self.plant.store, binding, ModelVersions(self.plant.store))

    def scores(self, binding: ResolvedBinding) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        return self.plant.series(binding.outputs["score"])


Edit = Callable[[npt.NDArray[np.float64], npt.NDArray[np.uint8]], None]


def open_skab(folder: Path, edit: Edit | None = None) -> Skab:
    """Store SKAB ``valve1/1.csv``; ``edit`` may blank values (NaN: not stored) or mark quality."""
    plant = Plant.open(folder)
    data = load_skab_file("valve1/1.csv")
    values = data.values.copy()
    quality = np.zeros(values.shape, np.uint8)
    if edit is not None:
        edit(values, quality)
    inputs = plant.ids(SIGNALS)
    plant.write(inputs, data.timestamps, values, quality)
    return Skab(plant, data, inputs)


@pytest.fixture
def skab(tmp_path: Path) -> Iterator[Skab]:
    opened = open_skab(tmp_path)
    yield opened
    opened.plant.store.close()


def _split_runs(skab: Skab, runs: dict[str, timedelta], **fields: Any) -> dict[str, Any]:
    """Scores and fits of the same binding (under several names) stepped at ``runs``."""
    found = {}
    for name, every in runs.items():
        binding = skab.binding(name, **fields)
        run(skab.job(binding), skab.start, skab.end, every)
        fits = ModelVersions(skab.plant.store).history(name, "pump-1")
        found[name] = (*skab.scores(binding), fits)
    return found


def _assert_same(found: dict[str, Any]) -> None:
    stamps, values, fits = next(iter(found.values()))
    assert len(stamps) > 700
    for other_stamps, other_values, other_fits in found.values():
        assert np.array_equal(other_stamps, stamps)
        # the detectors' EWMA filters continue across calls to within a rounding error
        np.testing.assert_allclose(other_values, values, rtol=0, atol=1e-12)
        assert other_fits["train_end"] == fits["train_end"]
        assert other_fits["version"] == fits["version"]


def test_scores_do_not_depend_on_how_data_time_is_split_into_steps(
    skab: Skab, monkeypatch: pytest.MonkeyPatch
) -> None:
    refit = timedelta(seconds=300)
    runs = {"steps_60s": MINUTE, "steps_7s": 7 * SECOND, "one_step": timedelta(hours=1)}
    found = _split_runs(skab, runs, params={}, refit_every=refit)
    monkeypatch.setattr(binding_module, "CHUNK_CELLS", 97)  # one step read in 97-cell chunks
    found |= _split_runs(skab, {"chunked": timedelta(hours=1)}, params={}, refit_every=refit)
    _assert_same(found)
    ends = found["one_step"][2]["train_end"].to_pylist()
    assert len(ends) >= 3  # the first fit and refits every 300 s of data time
    assert all(later - earlier == refit for earlier, later in pairwise(ends))


def test_slow_signal_slopes_do_not_depend_on_how_data_time_is_split_into_steps(
    skab: Skab,
) -> None:
    _assert_same(_split_runs(skab, {"steps_60s": MINUTE, "one_step": timedelta(hours=1)}))


def test_a_restarted_job_resumes_with_the_same_scores(skab: Skab) -> None:
    whole = skab.binding("whole")
    run(skab.job(whole), skab.start, skab.end, MINUTE)
    resumed = skab.binding("resumed")
    middle = skab.start + timedelta(seconds=700)
    first = run(skab.job(resumed), skab.start, middle, MINUTE)
    assert first[-1].status is JobState.OK and first[-1].watermark == middle
    run(skab.job(resumed), middle, skab.end, MINUTE, first[-1].watermark, first[-1].state)

    stamps, values = skab.scores(whole)
    assert np.array_equal(skab.scores(resumed)[0], stamps)
    assert np.array_equal(skab.scores(resumed)[1], values)


def test_a_step_repeated_after_a_crash_writes_nothing_twice(skab: Skab) -> None:
    binding = skab.binding()
    results = run(skab.job(binding), skab.start, skab.end, MINUTE)
    points = skab.plant.store.count()
    fits = ModelVersions(skab.plant.store).history("health", "pump-1").num_rows
    before, step = results[8], results[9]
    assert before.watermark is not None
    again = skab.job(binding).step(before.watermark + MINUTE, before.watermark, before.state)
    assert again.rows == step.rows > 0
    assert again.watermark == step.watermark
    assert skab.plant.store.count() == points
    assert ModelVersions(skab.plant.store).history("health", "pump-1").num_rows == fits


def test_the_job_waits_for_its_training_window(skab: Skab) -> None:
    binding = skab.binding()
    job = skab.job(binding)
    early = job.step(skab.start - MINUTE, None, None)
    assert early.status is JobState.WAITING and early.watermark is None
    assert early.message.startswith("waiting for data: 0 of 400 rows in the training window")

    waiting = run(job, skab.start, skab.start + WINDOW - SECOND, MINUTE, None, early.state)
    assert all(result.status is JobState.WAITING and result.rows == 0 for result in waiting)
    held = [int(result.message.split()[3]) for result in waiting]
    assert held == sorted(held) and 0 < held[-1] < 400
    assert all(result.message.startswith("waiting for data: ") for result in waiting)
    assert all(" of 400 rows in the training window" in result.message for result in waiting)
    assert waiting[-1].watermark == skab.start + WINDOW - SECOND
    assert len(skab.scores(binding)[0]) == 0

    last = waiting[-1]
    ready = job.step(skab.start + WINDOW + MINUTE, last.watermark, last.state)
    assert ready.status is JobState.OK and ready.rows == 60
    fit = ModelVersions(skab.plant.store).latest("health", "pump-1").to_pylist()[0]
    assert fit["train_start"] == skab.start and fit["train_end"] == skab.start + WINDOW
    assert fit["rows"] == 400 and fit["kind"] == "pca_t2q"
    assert skab.scores(binding)[0][0] == np.datetime64(skab.start.replace(tzinfo=None) + WINDOW)


def test_fault_rows_score_above_the_threshold_and_healthy_rows_mostly_not(skab: Skab) -> None:
    binding = skab.binding()
    run(skab.job(binding), skab.start, skab.end, MINUTE)
    stamps, scores = skab.scores(binding)
    rows = np.searchsorted(skab.data.timestamps, stamps)
    on_a_row = rows < len(skab.data.timestamps)
    on_a_row[on_a_row] = skab.data.timestamps[rows[on_a_row]] == stamps[on_a_row]
    fault = skab.data.anomaly[rows[on_a_row]] == 1
    above = scores[on_a_row] > binding.threshold
    assert fault.sum() == skab.data.anomaly.sum()  # every fault row is after the training window
    assert above[fault].mean() >= 0.85  # measured 0.910
    assert above[~fault].mean() <= 0.12  # measured 0.075
    assert ((scores >= 0) & (scores <= 1)).all()


def test_rows_with_missing_inputs_get_no_score_and_short_gaps_are_carried(tmp_path: Path) -> None:
    current, pressure = SIGNALS.index("current"), SIGNALS.index("pressure")

    def edit(values: npt.NDArray[np.float64], quality: npt.NDArray[np.uint8]) -> None:
        quality[700:710, current] = Quality.BAD
        values[800:803, pressure] = np.nan
        values[900:920, pressure] = np.nan

    skab = open_skab(tmp_path, edit)
    binding = skab.binding()
    run(skab.job(binding), skab.start, skab.end, MINUTE)
    scored = set(skab.scores(binding)[0].tolist())
    stamps = skab.data.timestamps

    def cells(first: int, last: int) -> list[np.datetime64]:
        return list(np.arange(stamps[first], stamps[last], np.timedelta64(1, "s")))

    assert not scored & set(cells(700, 710))  # bad points are NaN, and so is their carry
    assert set(cells(800, 803)) <= scored  # 3 s without pressure: carried
    gap = cells(900, 920)
    carried = {cell for cell in gap if cell - stamps[899] <= np.timedelta64(5, "s")}
    assert {cell for cell in gap if cell in scored} == carried
    assert stamps[710] in scored and stamps[920] in scored
    skab.plant.store.close()


def test_an_ensemble_binding_builds_its_members_and_scores(skab: Skab) -> None:
    members = [
        {"kind": "ewma_zscore", "params": {"alpha": 0.1}},
        {"kind": "pca_t2q", "params": {"slow": ["temperature", "thermocouple"]}},
    ]
    binding = skab.binding("blend", kind="ensemble", params={"members": members, "weights": [1, 2]})
    result = skab.job(binding).step(skab.end, None, None)
    assert result.status is JobState.OK
    stamps, scores = skab.scores(binding)
    assert len(stamps) > 700 and ((scores >= 0) & (scores <= 1)).all()
    fit = ModelVersions(skab.plant.store).latest("blend").to_pylist()[0]
    assert fit["kind"] == "ensemble" and '"ewma_zscore"' in fit["params"]


def test_a_changed_binding_refits_on_the_latest_window_at_once(skab: Skab) -> None:
    middle = skab.start + timedelta(seconds=700)
    first = run(skab.job(skab.binding()), skab.start, middle, MINUTE)[-1]
    changed = skab.binding(params={"slow": ["temperature"], "variance": 0.8})
    after = skab.job(changed).step(middle + MINUTE, first.watermark, first.state)
    assert after.status is JobState.OK and after.watermark == middle + MINUTE
    fits = ModelVersions(skab.plant.store).history("health", "pump-1").to_pylist()
    assert len(fits) == 2
    assert middle - timedelta(seconds=10) <= fits[1]["train_end"] <= middle
    assert fits[1]["params"] != fits[0]["params"]


def test_a_lost_state_rewinds_from_the_watermark_and_refits(skab: Skab) -> None:
    middle = skab.start + timedelta(seconds=700)
    first = run(skab.job(skab.binding()), skab.start, middle, MINUTE)[-1]
    after = skab.job(skab.binding()).step(middle + MINUTE, first.watermark, b"not a state")
    assert after.status is JobState.OK and after.watermark == middle + MINUTE
    fits = ModelVersions(skab.plant.store).history("health", "pump-1").to_pylist()
    assert len(fits) == 2 and middle - timedelta(seconds=10) <= fits[1]["train_end"] <= middle


def test_a_binding_that_cannot_run_is_refused_when_resolved(skab: Skab) -> None:
    with pytest.raises(ConfigError, match="'health' on 'pump-1': unknown analytics kind 'pca_t3q'"):
        skab.binding(kind="pca_t3q")
    with pytest.raises(ConfigError, match="'pca_t2q' has no parameter 'varience'"):
        skab.binding(params={"varience": 0.9})
    with pytest.raises(ConfigError, match=r"outputs \['scores'\], expected \['score'\]"):
        skab.binding(outputs={"scores": 99})
    with pytest.raises(ConfigError, match="refit_every must be a positive multiple of resample"):
        skab.binding(refit_every=timedelta(milliseconds=1500))
    with pytest.raises(ConfigError, match="a detector reads one or more signals and has no target"):
        skab.binding(target=skab.inputs[0], target_name="pump_current")
    with pytest.raises(ConfigError, match="'contextual' reads 1 signal"):
        skab.binding(kind="contextual", params={})
