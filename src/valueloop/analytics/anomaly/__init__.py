"""Streaming anomaly detection: detectors, live scoring, and the SKAB and NAB benchmarks.

- :mod:`.base`: the detector contract (one pass, no look-ahead) and :func:`check_detector`;
- detectors: :class:`EwmaZScore`, :class:`Cusum` (univariate), :class:`PcaT2Q`,
  :class:`IsolationForestDetector`, :class:`AutoencoderDetector` (multivariate, fitted on a
  normal prefix),
  :class:`ContextualDetector` (NAB), :class:`Ensemble`;
- :class:`StreamingScorer`: per-asset state between batches, anomaly events as Arrow;
- :func:`evaluate_skab`, :func:`evaluate_nab`: the benchmarks by their own protocols.
"""

from valueloop.analytics.anomaly.autoencoder import AutoencoderDetector
from valueloop.analytics.anomaly.base import StreamingDetector, check_detector
from valueloop.analytics.anomaly.contextual import ContextualDetector
from valueloop.analytics.anomaly.ensemble import Ensemble
from valueloop.analytics.anomaly.evaluate import (
    evaluate_nab,
    evaluate_skab,
    nab_detector,
    skab_detector,
)
from valueloop.analytics.anomaly.multivariate import IsolationForestDetector, PcaT2Q
from valueloop.analytics.anomaly.streaming import EVENT_SCHEMA, StreamingScorer
from valueloop.analytics.anomaly.univariate import Cusum, EwmaZScore
from valueloop.analytics.base import clone

__all__ = [
    "EVENT_SCHEMA",
    "AutoencoderDetector",
    "ContextualDetector",
    "Cusum",
    "Ensemble",
    "EwmaZScore",
    "IsolationForestDetector",
    "PcaT2Q",
    "StreamingDetector",
    "StreamingScorer",
    "check_detector",
    "clone",
    "evaluate_nab",
    "evaluate_skab",
    "nab_detector",
    "skab_detector",
]
