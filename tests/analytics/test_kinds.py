"""Analytics kinds found by entry point, their roles and outputs, and the checking of params."""

from __future__ import annotations

from typing import Any

import pytest

from valueloop.analytics.anomaly import Ensemble, EwmaZScore, PcaT2Q
from valueloop.analytics.kinds import (
    build_detector,
    check_params,
    detector_kinds,
    kind_class,
    kind_outputs,
    kind_role,
)
from valueloop.errors import ConfigError

SIGNALS = ("vibration", "power", "temperature")


def test_every_detector_is_registered_with_one_score_output() -> None:
    kinds = detector_kinds()
    assert set(kinds) == {
        "ewma_zscore",
        "cusum",
        "pca_t2q",
        "isolation_forest",
        "contextual",
        "autoencoder",
        "ensemble",
    }
    assert kinds["pca_t2q"] is PcaT2Q
    for kind in kinds:
        assert kind_role(kind) == "detector"
        assert kind_outputs(kind) == ("score",)


def test_models_are_bindable_by_their_shape() -> None:
    assert kind_role("expected_value") == "expected_value"
    assert kind_outputs("expected_value") == ("expected", "lower", "upper", "residual")
    assert kind_role("forecaster") == "forecaster"
    assert kind_outputs("forecaster") == ("forecast", "lower", "upper")
    with pytest.raises(ConfigError, match=r"'rul_gbm'.*cannot be bound"):
        kind_role("rul_gbm")


def test_an_unknown_kind_is_refused_with_the_installed_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown analytics kind 'pca_t3q'.*pca_t2q.*forecaster"):
        kind_class("pca_t3q")


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("pca_t2q", {"varience": 0.9}, "'pca_t2q' has no parameter 'varience'; .*variance"),
        ("pca_t2q", {"lag": "long"}, "parameter 'lag' must be int, got 'long'"),
        ("pca_t2q", {"k": True}, "parameter 'k' must be float"),
        ("pca_t2q", {"signals": 3}, "'signals' is set by the binding"),
        ("pca_t2q", {"slow": ["humidity"]}, "'slow' names signal 'humidity'"),
        ("contextual", {}, "'contextual' reads 1 signal"),
        ("ensemble", {}, "'ensemble' needs the parameters members"),
        ("ensemble", {"members": [{"kind": "forecaster"}]}, "members item 'forecaster' is not"),
        ("ensemble", {"members": [{"kind": "cusum", "params": {"drift": "x"}}]}, "'drift'"),
        ("ensemble", {"members": [{"kind": "ewma"}]}, "unknown analytics kind 'ewma'"),
        ("ensemble", {"members": ["cusum"], "weights": [1, 2]}, "2 weights for 1"),
        ("forecaster", {"horizon": 24}, "'horizon' is set by the binding"),
        ("forecaster", {"lags": "1,2"}, "'lags' must be Sequence\\[int\\]"),
        ("expected_value", {"target": "power"}, "'target' is set by the binding"),
        ("expected_value", {"interval": "wide"}, "'interval' must be float"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(
    kind: str, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        check_params(kind, params, signals=SIGNALS)


def test_good_parameters_pass_and_build() -> None:
    check_params("pca_t2q", {"slow": ["temperature"], "variance": 1, "seed": 3}, signals=SIGNALS)
    check_params("forecaster", {"lags": [1, 2, 48], "season": 48})
    check_params("expected_value", {"interval": 0.9, "min_rows": 200})
    detector = build_detector("pca_t2q", {"slow": ["temperature"]}, SIGNALS)
    assert isinstance(detector, PcaT2Q) and detector.slow == (2,) and detector.signals == 3


def test_an_ensemble_is_built_from_member_specs() -> None:
    params = {
        "members": ["ewma_zscore", {"kind": "pca_t2q", "params": {"variance": 0.8}}],
        "weights": [1.0, 3.0],
    }
    check_params("ensemble", params, signals=SIGNALS)
    ensemble = build_detector("ensemble", params, SIGNALS)
    assert isinstance(ensemble, Ensemble) and ensemble.signals == 3
    first, second = ensemble.members
    assert isinstance(first, EwmaZScore) and isinstance(second, PcaT2Q)
    assert second.variance == 0.8 and ensemble.weights == (1.0, 3.0)
