"""Multivariate detectors of one asset's signals, fitted on a normal training prefix.

Both detectors read rows through a :class:`~.features.FeatureWindow` (smoothing and slow-signal
slopes), standardise each feature by its training mean and standard deviation, and compare a
statistic with an upper control limit (UCL) learned on the training rows: ``UCL = k x`` the
``quantile`` of the statistic over those rows. The score is ``r / (1 + r)`` with ``r`` the
statistic over its UCL, so a score above 0.5 is an alarm.

- :class:`PcaT2Q`: principal components keeping ``variance`` of the training variance; Hotelling's
  T-squared (distance inside the model plane, over the component variances) and the Q statistic
  (squared prediction error, off the plane); ``r`` is the larger of the two ratios.
  :attr:`PcaT2Q.signal_scores` gives each signal's share of Q for the last call.
- :class:`IsolationForestDetector`: scikit-learn's isolation forest, ``r`` its anomaly score over
  the UCL.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest

from valueloop.analytics.anomaly.base import Matrix, StreamingDetector, as_matrix, floor_scale
from valueloop.analytics.anomaly.data import Stamps, Vector
from valueloop.analytics.anomaly.features import FeatureWindow
from valueloop.errors import ModelError


class PrefixDetector(StreamingDetector):
    """Shared fitting of prefix-trained detectors: features, standardisation, control limits."""

    min_rows = 20
    shared_params = ("signals", "slow", "lag", "smoothing", "quantile", "k", "seed")
    own_params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        signals: int,
        slow: Sequence[int] = (),
        lag: int = 30,
        smoothing: float = 0.3,
        quantile: float = 0.99,
        k: float = 1.5,
        seed: int = 0,
    ) -> None:
        self.signals = signals
        self.slow = tuple(slow)
        self.lag = lag
        self.smoothing = smoothing
        self.quantile = quantile
        self.k = k
        self.seed = seed
        self._window = FeatureWindow(smoothing=smoothing, slow=self.slow, lag=lag)
        self._fitted = False
        self._mean = np.zeros(signals)
        self._scale = np.ones(signals)
        self._limits = np.ones(1)
        self.signal_scores: Matrix = np.zeros((0, signals))

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters (the detector's own, then the shared ones), for ``__init__``."""
        return {name: getattr(self, name) for name in (*self.own_params, *self.shared_params)}

    def fit(self, timestamps: Stamps, values: npt.ArrayLike) -> Self:
        """Learn the normal profile and control limits from training rows (at least 20)."""
        matrix = as_matrix(values, self.signals, type(self).__name__)
        matrix = matrix[~np.isnan(matrix).any(axis=1)]
        if matrix.shape[0] < max(self.min_rows, self.lag):
            raise ModelError(
                f"{type(self).__name__} needs at least {max(self.min_rows, self.lag)} complete "
                f"training rows, got {matrix.shape[0]}: train on a longer normal period"
            )
        self._window.reset()
        features = self._window.transform(matrix)
        self._mean = features.mean(axis=0)
        self._scale = floor_scale(features.std(axis=0), self._mean)
        standard = (features - self._mean) / self._scale
        self._learn(standard)
        statistics = self._statistics(standard)
        self._limits = self.k * np.quantile(statistics, self.quantile, axis=0)
        self._limits = np.maximum(self._limits, 1e-12)
        self._fitted = True
        self.reset()
        return self

    def reset(self) -> None:
        """Restart the feature window (the learned profile and limits are kept)."""
        self._window.reset()

    def _score(self, timestamps: Stamps, values: Matrix) -> Vector:
        if not self._fitted:
            raise ModelError(f"{type(self).__name__} is not fitted: call fit() on normal rows")
        standard = (self._window.transform(values) - self._mean) / self._scale
        ratio = (self._statistics(standard) / self._limits).max(axis=1)
        result: Vector = ratio / (1.0 + ratio)
        return result

    @abstractmethod
    def _learn(self, standard: Matrix) -> None:
        """Fit the model on standardised training features."""

    @abstractmethod
    def _statistics(self, standard: Matrix) -> Matrix:
        """One column per statistic, one row per row of standardised features."""


class PcaT2Q(PrefixDetector):
    """PCA with Hotelling's T-squared and Q (squared prediction error) control limits.

    ``variance`` is the fraction of training variance the principal components keep (0 to 1).
    """

    own_params = ("variance",)

    def __init__(self, *, signals: int, variance: float = 0.9, **options: Any) -> None:
        super().__init__(signals=signals, **options)
        self.variance = variance
        self._pca: PCA | None = None

    def _learn(self, standard: Matrix) -> None:
        self._pca = PCA(n_components=self.variance, svd_solver="full").fit(standard)

    def _statistics(self, standard: Matrix) -> Matrix:
        assert self._pca is not None
        projected = self._pca.transform(standard)
        variances = np.maximum(self._pca.explained_variance_, 1e-12)
        t2 = np.sum(projected**2 / variances, axis=1)
        residual = standard - self._pca.inverse_transform(projected)
        self.signal_scores = residual**2
        return np.column_stack([t2, np.sum(residual**2, axis=1)])


class IsolationForestDetector(PrefixDetector):
    """scikit-learn's isolation forest on standardised features, ``trees`` trees, seeded.

    Its anomaly score saturates near 1, so the control limit defaults to ``k = 1``.
    """

    own_params = ("trees",)

    def __init__(self, *, signals: int, trees: int = 100, k: float = 1.0, **options: Any) -> None:
        super().__init__(signals=signals, k=k, **options)
        self.trees = trees
        self._forest: IsolationForest | None = None

    def _learn(self, standard: Matrix) -> None:
        self._forest = IsolationForest(n_estimators=self.trees, random_state=self.seed)
        self._forest.fit(standard)

    def _statistics(self, standard: Matrix) -> Matrix:
        assert self._forest is not None
        anomaly: Matrix = -self._forest.score_samples(standard).reshape(-1, 1)
        return anomaly
