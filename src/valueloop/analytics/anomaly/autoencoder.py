"""An autoencoder detector: reconstruction error of a small neural network fitted on normal rows.

A dense autoencoder (``signals -> hidden -> bottleneck -> hidden -> signals``, tanh) learns to
reproduce the standardised features of the training prefix (full-batch Adam, ``epochs`` passes,
seeded); rows it cannot reproduce are anomalous. The statistic is the mean squared reconstruction
error of a row, compared with its control limit as in :mod:`.multivariate`; the per-signal squared
errors are kept in :attr:`AutoencoderDetector.signal_scores`. PyTorch is imported only when the
detector is fitted. The network is tiny, so it runs on one thread (many threads only wait on
each other for it); the caller's thread setting is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from valueloop.analytics.anomaly.base import Matrix
from valueloop.analytics.anomaly.multivariate import PrefixDetector


@contextmanager
def _one_thread() -> Iterator[Any]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_num_threads(threads)


class AutoencoderDetector(PrefixDetector):
    """Dense autoencoder on standardised features; ``bottleneck`` and ``hidden`` are widths."""

    own_params = ("hidden", "bottleneck", "epochs", "learning_rate")

    def __init__(
        self,
        *,
        signals: int,
        hidden: int = 16,
        bottleneck: int = 3,
        epochs: int = 300,
        learning_rate: float = 0.01,
        **options: Any,
    ) -> None:
        super().__init__(signals=signals, **options)
        self.hidden = hidden
        self.bottleneck = bottleneck
        self.epochs = epochs
        self.learning_rate = learning_rate
        self._network: Any = None

    def _learn(self, standard: Matrix) -> None:
        width = standard.shape[1]
        with _one_thread() as torch, torch.random.fork_rng():
            torch.manual_seed(self.seed)
            network = torch.nn.Sequential(
                torch.nn.Linear(width, self.hidden),
                torch.nn.Tanh(),
                torch.nn.Linear(self.hidden, self.bottleneck),
                torch.nn.Tanh(),
                torch.nn.Linear(self.bottleneck, self.hidden),
                torch.nn.Tanh(),
                torch.nn.Linear(self.hidden, width),
            )
            rows = torch.as_tensor(standard, dtype=torch.float32)
            optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
            for _ in range(self.epochs):
                optimiser.zero_grad()
                loss = torch.mean((network(rows) - rows) ** 2)
                loss.backward()
                optimiser.step()
        self._network = network.eval()

    def _statistics(self, standard: Matrix) -> Matrix:
        with _one_thread() as torch, torch.no_grad():
            rows = torch.as_tensor(standard, dtype=torch.float32)
            rebuilt = self._network(rows).numpy().astype(np.float64)
        self.signal_scores = (standard - rebuilt) ** 2
        error: Matrix = self.signal_scores.mean(axis=1, keepdims=True)
        return error
