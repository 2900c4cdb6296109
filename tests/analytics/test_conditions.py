"""Operating-condition normalisation on FD002 (six conditions) and FD001 (one)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from valueloop.analytics.conditions import (
    ConditionNormaliser,
    detect_conditions,
    normalise_training,
)
from valueloop.datasets.cmapss import OPERATING_SETTINGS, SENSORS, load_cmapss
from valueloop.errors import ModelError

# Saxena et al. (2008), table 2: the six operating conditions of FD002/FD004 (altitude in
# thousands of feet, Mach number, throttle resolver angle), as ``op_setting_1..3``.
PUBLISHED_CONDITIONS = {(0, 0.0, 100), (10, 0.25, 100), (20, 0.7, 100), (25, 0.62, 60),
                        (35, 0.84, 100), (42, 0.84, 100)}  # fmt: skip


@pytest.fixture(scope="module")
def fd002() -> pa.Table:
    return load_cmapss("FD002", "train")


def test_six_conditions_are_found_in_fd002_and_one_in_fd001(fd002: pa.Table) -> None:
    assert detect_conditions(fd002, OPERATING_SETTINGS) == 6
    assert detect_conditions(load_cmapss("FD001", "train"), OPERATING_SETTINGS) == 1


def test_the_conditions_are_the_published_ones(fd002: pa.Table) -> None:
    normaliser = ConditionNormaliser.fit(fd002, SENSORS, conditions=6, settings=OPERATING_SETTINGS)
    centres = np.asarray(normaliser.centres) * np.asarray(normaliser.scale)
    found = {(round(a), round(b, 2), round(c)) for a, b, c in centres}
    assert found == PUBLISHED_CONDITIONS


def test_normalised_sensors_have_zero_mean_and_unit_spread_per_condition(fd002: pa.Table) -> None:
    normaliser = ConditionNormaliser.fit(fd002, SENSORS, conditions=6, settings=OPERATING_SETTINGS)
    labels = normaliser.assign(fd002)
    assert np.bincount(labels).min() > 5000
    normalised = normaliser.transform(fd002)
    for sensor in ("sensor_2", "sensor_11", "sensor_15"):
        raw, z = fd002[sensor].to_numpy(), normalised[sensor].to_numpy()
        assert np.std(raw) > 10 * np.mean([np.std(raw[labels == c]) for c in range(6)])
        for condition in range(6):
            assert abs(z[labels == condition].mean()) < 1e-9
            assert z[labels == condition].std() == pytest.approx(1.0)


def test_condition_only_sensors_are_dropped_after_normalisation(fd002: pa.Table) -> None:
    prepared = normalise_training(fd002, conditions=6, settings=OPERATING_SETTINGS)
    kept = prepared.normaliser.sensors
    for constant_in_each_condition in ("sensor_1", "sensor_5", "sensor_18", "sensor_19"):
        assert constant_in_each_condition not in kept
    assert {"sensor_2", "sensor_4", "sensor_11", "sensor_15"} <= set(kept)
    restored = ConditionNormaliser.from_dict(prepared.normaliser.to_dict())
    assert restored == prepared.normaliser


def test_settings_are_required_to_tell_conditions_apart(fd002: pa.Table) -> None:
    normaliser = ConditionNormaliser.fit(fd002, SENSORS, conditions=6, settings=OPERATING_SETTINGS)
    with pytest.raises(ModelError, match="op_setting_2"):
        normaliser.transform(fd002.drop_columns(["op_setting_2"]))
    with pytest.raises(ModelError, match="conditions must be"):
        ConditionNormaliser.fit(fd002, SENSORS, conditions=0)
    with pytest.raises(ModelError, match="needs the settings columns"):
        ConditionNormaliser.fit(fd002, SENSORS, conditions=6)
    with pytest.raises(ModelError, match="settings column 'altitude' is missing"):
        normalise_training(fd002, conditions=6, settings=("altitude",))


def test_every_signal_but_the_settings_is_a_candidate_sensor(fd002: pa.Table) -> None:
    prepared = normalise_training(fd002, conditions=6, settings=OPERATING_SETTINGS)
    assert prepared.normaliser.settings == OPERATING_SETTINGS
    assert not set(prepared.normaliser.sensors) & set(OPERATING_SETTINGS)
    one = normalise_training(load_cmapss("FD001", "train"), conditions=1)
    assert one.normaliser.settings == () and one.normaliser.inputs == one.normaliser.sensors
