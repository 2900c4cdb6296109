"""What the RUL models share: the output schema and the prediction at each unit's last cycle.

A RUL model subclasses :class:`RulModel` and provides ``predict_all`` (one prediction per cycle)
and, as every :class:`~valueloop.analytics.saved.SavedModel`, its fitted state (``_state`` and
``_restore``), recording each fit with ``_record_fit``; it keeps that state in ``_fitted``.
:class:`RulModel` derives ``predict`` (each unit's last cycle); ``get_params``, ``version``,
``metadata``, ``save`` and ``load`` come from the shared bases.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from valueloop.analytics.saved import SavedModel

RUL_SCHEMA = pa.schema(
    [
        ("unit", pa.int32()),
        ("cycle", pa.int32()),
        ("rul", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
    ]
)


class RulModel(SavedModel):
    """Base of the RUL models; see the module docstring. Outputs are in cycles."""

    output_schema: ClassVar[pa.Schema] = RUL_SCHEMA
    _fitted: Any = None

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

    def _require_fitted(self) -> Any:
        if self._fitted is None:
            raise self._not_fitted()
        return self._fitted
