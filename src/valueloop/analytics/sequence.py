"""Remaining useful life (RUL, in cycles) by a small 1D convolutional network over sensor windows.

:class:`SequenceRUL` reads, for each cycle, the last ``window`` cycles of the engine's normalised
sensors (:mod:`valueloop.analytics.conditions`) plus the cycle number, and regresses the
piecewise-linear target ``min(cap, cycles to failure)``. A series shorter than ``window`` (a young
engine) is padded at its start by repeating its first cycle, a documented fallback that lets the
network answer from the first cycle on. The network is three convolutions (kernel 5, 5, 3, same
padding) and two dense layers, trained with Adam and a cosine learning-rate schedule on the CPU
(``threads`` threads), seeded and deterministic.

A ``calibration`` share of the training engines is held out (whole engines): the network never sees
them, and their errors calibrate the interval by split-conformal bands
(:class:`~valueloop.analytics.calibration.BandConformal`) and give the held-out RMSE recorded in
the metadata.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import torch
from torch import nn

from valueloop.analytics.calibration import BandConformal, cycles_to_failure, split_units
from valueloop.analytics.conditions import (
    ConditionNormaliser,
    normalise_history,
    normalise_training,
)
from valueloop.analytics.rul_base import RulModel

Vector = npt.NDArray[np.float64]
_CYCLE_SCALE = 100.0  # cycles per unit of the cycle input channel


def sensor_windows(table: pa.Table, sensors: tuple[str, ...], window: int) -> npt.NDArray[Any]:
    """Float32 ``(rows, window, sensors + 1)``: each row's last ``window`` cycles, oldest first.

    Rows of ``table`` are sorted by unit and cycle; windows stop at the unit's first cycle and are
    padded there by repeating it. The last channel is the cycle number divided by 100.
    """
    units = table["unit"].to_numpy()
    rows = np.arange(units.size)
    first = np.r_[True, units[1:] != units[:-1]]
    unit_start = np.maximum.accumulate(np.where(first, rows, 0))
    index = np.maximum(rows[:, None] - np.arange(window - 1, -1, -1)[None, :], unit_start[:, None])
    channels = [table[name].to_numpy() for name in sensors]
    channels.append(table["cycle"].to_numpy() / _CYCLE_SCALE)
    values = np.column_stack(channels).astype(np.float32)
    return values[index]


class _Network(nn.Module):
    def __init__(self, inputs: int, window: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(inputs, channels, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels * window, 64),
            nn.ReLU(),
            nn.Linear(64, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.transpose(1, 2)).squeeze(1)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Fitted:
    normaliser: ConditionNormaliser
    signals: tuple[str, ...]
    network: _Network
    conformal: BandConformal


@dataclass(kw_only=True, eq=False)
class SequenceRUL(RulModel):
    """1D-CNN RUL model of run-to-failure fleets; see the module docstring for the method.

    Hyper-parameters: ``window`` (cycles per input), ``cap`` (cycles, ceiling of the training
    target), ``interval`` (nominal coverage of ``[lower, upper]``), ``channels`` (convolution
    width), ``dropout``, ``epochs``, ``batch_size``, ``learning_rate``, ``calibration`` (share of
    training engines held out), ``bands`` (of the conformal calibration), ``conditions``
    (operating conditions to normalise the sensors by), ``settings`` (the operating-setting
    columns, which are not sensors), ``seed`` and ``threads``.
    """

    file_format = "valueloop.rul-sequence/1"
    version_prefix = "rul-cnn"
    load_errors = (ValueError, KeyError, TypeError, RuntimeError)

    window: int = 30
    channels: int = 16
    dropout: float = 0.2
    epochs: int = 30
    batch_size: int = 512
    learning_rate: float = 0.001
    calibration: float = 0.2
    threads: int = 2

    def fit(self, train: pa.Table) -> Self:
        """Learn from run-to-failure histories: every unit's last row is its failure cycle.

        ``train`` is as for :meth:`GradientBoostingRUL.fit
        <valueloop.analytics.rul.GradientBoostingRUL.fit>`.
        """
        self._check_params()
        prepared = normalise_training(train, conditions=self.conditions, settings=self.settings)
        table = prepared.table
        units = table["unit"].to_numpy()
        held = split_units(units, self.calibration, self.seed)
        life = cycles_to_failure(units, table["cycle"].to_numpy())
        windows = sensor_windows(table, prepared.normaliser.sensors, self.window)
        with _torch_threads(self.threads):
            network = self._train(windows[~held], np.minimum(life[~held], self.cap))
            point = self._forward(network, windows[held])
        target = np.minimum(life[held], self.cap)
        self._fitted = _Fitted(
            normaliser=prepared.normaliser,
            signals=prepared.signals,
            network=network,
            conformal=BandConformal.fit(
                point, life[held], cap=self.cap, bands=self.bands, interval=self.interval
            ),
        )
        held_out_rmse = float(np.sqrt(np.mean((point - target) ** 2)))
        self._record_fit(prepared.data_hash, {"held_out_rmse": held_out_rmse})
        return self

    def predict_all(self, history: pa.Table) -> pa.Table:
        """Like :meth:`predict`, but one row per row of ``history`` (each cycle's prediction)."""
        fitted: _Fitted = self._require_fitted()
        table = normalise_history(history, fitted.normaliser, fitted.signals)
        windows = sensor_windows(table, fitted.normaliser.sensors, self.window)
        with _torch_threads(self.threads):
            point = self._forward(fitted.network, windows)
        lower, upper = fitted.conformal.bounds(point)
        columns = [table["unit"], table["cycle"], *map(pa.array, (point, lower, upper))]
        return pa.Table.from_arrays(columns, schema=self.output_schema)

    def _state(self) -> dict[str, Any]:
        """The network's weights, the normaliser and the calibration."""
        fitted: _Fitted = self._require_fitted()
        buffer = io.BytesIO()
        torch.save(fitted.network.state_dict(), buffer)
        return {
            "normaliser": fitted.normaliser.to_dict(),
            "signals": fitted.signals,
            "conformal": fitted.conformal.to_dict(),
            "network": base64.b64encode(buffer.getvalue()).decode("ascii"),
        }

    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        normaliser = ConditionNormaliser.from_dict(state["normaliser"])
        network = self._network(len(normaliser.sensors) + 1)
        raw = base64.b64decode(state["network"])
        network.load_state_dict(torch.load(io.BytesIO(raw), weights_only=True))
        network.eval()
        self._fitted = _Fitted(
            normaliser=normaliser,
            signals=tuple(state["signals"]),
            network=network,
            conformal=BandConformal.from_dict(state["conformal"]),
        )

    def _rules(self) -> dict[str, bool]:
        return {
            **super()._rules(),
            "window >= 1": self.window >= 1,
            "epochs >= 1": self.epochs >= 1,
            "0 < calibration < 1": 0 < self.calibration < 1,
            "0 <= dropout < 1": 0 <= self.dropout < 1,
        }

    def _network(self, inputs: int) -> _Network:
        return _Network(inputs, self.window, self.channels, self.dropout)

    def _train(self, windows: npt.NDArray[Any], target: Vector) -> _Network:
        """A network fitted to ``target / cap`` on ``windows``, deterministic for ``seed``."""
        torch.manual_seed(self.seed)
        network = self._network(windows.shape[2])
        x = torch.from_numpy(windows)
        y = torch.from_numpy((target / self.cap).astype(np.float32))
        optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=self.epochs)
        generator = torch.Generator().manual_seed(self.seed)
        loss_fn = nn.MSELoss()
        network.train()
        for _ in range(self.epochs):
            order = torch.randperm(x.shape[0], generator=generator)
            for start in range(0, x.shape[0], self.batch_size):
                batch = order[start : start + self.batch_size]
                optimiser.zero_grad()
                loss = loss_fn(network(x[batch]), y[batch])
                loss.backward()
                optimiser.step()
            schedule.step()
        network.eval()
        return network

    def _forward(self, network: _Network, windows: npt.NDArray[Any]) -> Vector:
        """Point predictions in cycles, clipped to ``[0, cap]``."""
        with torch.no_grad():
            x = torch.from_numpy(windows)
            out = torch.cat([network(x[start : start + 8192]) for start in range(0, len(x), 8192)])
        return np.clip(out.numpy().astype(np.float64) * self.cap, 0, self.cap)


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Run a block with ``torch`` limited to ``threads`` threads, then restore the setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
