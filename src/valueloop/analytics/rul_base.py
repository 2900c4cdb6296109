"""What the RUL models share: hyper-parameters, their checks, and the prediction at the last cycle.

A RUL model is a keyword-only dataclass subclassing :class:`RulModel`: its fields are its
hyper-parameters, :class:`RulModel`'s shared ones included. It provides ``predict_all`` (one
prediction per cycle), the rules of its own hyper-parameters (``_rules``) and, as every
:class:`~valueloop.analytics.saved.SavedModel`, its fitted state (``_state`` and ``_restore``),
recording each fit with ``_record_fit``; it keeps that state in ``_fitted``. :class:`RulModel`
derives ``predict`` (each unit's last cycle) and ``_check_params``; ``get_params``, ``version``,
``metadata``, ``save`` and ``load`` come from the shared bases.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from valueloop.analytics.saved import SavedModel
from valueloop.errors import ModelError

RUL_SCHEMA = pa.schema(
    [
        ("unit", pa.int32()),
        ("cycle", pa.int32()),
        ("rul", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
    ]
)


@dataclass(kw_only=True, eq=False)
class RulModel(SavedModel):
    """Base of the RUL models; see the module docstring. Outputs are in cycles.

    A RUL model is a keyword-only dataclass whose fields are its hyper-parameters (so they are
    the keyword arguments of ``__init__``); these are every RUL model's: ``cap`` (cycles, ceiling
    of the training target), ``interval`` (nominal coverage of ``[lower, upper]``), ``bands`` (of
    the interval calibration), ``conditions`` (operating conditions to normalise the sensors by),
    ``settings`` (the operating-setting columns, which are not sensors, kept as a list) and
    ``seed``.
    """

    output_schema: ClassVar[pa.Schema] = RUL_SCHEMA
    cap: int = 125
    interval: float = 0.8
    bands: int = 4
    conditions: int = 1
    settings: Sequence[str] = ()
    seed: int = 0
    _fitted: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.settings = list(self.settings)

    @abstractmethod
    def predict_all(self, history: pa.Table) -> pa.Table:
        """One prediction per row of ``history`` (each cycle's), ``output_schema``, sorted."""

    def predict(self, history: pa.Table) -> pa.Table:
        """RUL of each unit at its last cycle in ``history``: ``output_schema``, sorted by unit.

        ``history`` holds ``unit``, ``cycle`` and the signals the model uses, for one or many
        engines; ``rul``, ``lower`` and ``upper`` are in cycles.
        """
        every = self.predict_all(history)
        units = every["unit"].to_numpy()
        return every.filter(pa.array(np.r_[units[1:] != units[:-1], True]))

    def _rules(self) -> dict[str, bool]:
        """Each rule the hyper-parameters must follow, and whether they do; a model adds its own."""
        return {
            "cap > 0": self.cap > 0,
            "0 < interval < 1": 0 < self.interval < 1,
            "bands >= 1": self.bands >= 1,
            "conditions >= 1": self.conditions >= 1,
        }

    def _check_params(self) -> None:
        """Raise :class:`~valueloop.errors.ModelError` naming the first rule that is broken."""
        for rule, ok in self._rules().items():
            if not ok:
                raise ModelError(f"invalid hyper-parameter: expected {rule}")

    def _require_fitted(self) -> Any:
        if self._fitted is None:
            raise self._not_fitted()
        return self._fitted
