"""What the RUL models share: hyper-parameters, the output schema, persistence and provenance.

A RUL model subclasses :class:`RulModel` and provides ``predict_all`` (one prediction per cycle),
``to_document`` and ``from_document`` (its fitted state as JSON), and keeps its fitted state, with
a ``metadata`` field, in ``_fitted``. :class:`RulModel` derives the rest: ``get_params`` from the
signature of ``__init__``, ``predict`` (each unit's last cycle), ``version``, ``metadata``,
``save`` and ``load``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from valueloop.analytics.metadata import ModelMetadata, read_model_file, write_model_file
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


class Estimator:
    """Hyper-parameters are the keyword arguments of ``__init__``, stored under their own names."""

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments of ``__init__``."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}


class RulModel(Estimator, ABC):
    """Base of the RUL models; see the module docstring. Outputs are in cycles."""

    output_schema: ClassVar[pa.Schema] = RUL_SCHEMA
    _fitted: Any = None

    @property
    def version(self) -> str:
        """A short name hashing the model kind, hyper-parameters and training data."""
        return self.metadata.version

    @property
    def metadata(self) -> ModelMetadata:
        """Version, hyper-parameters, training data hash, held-out metrics, library versions."""
        meta: ModelMetadata = self._require_fitted().metadata
        return meta

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

    @abstractmethod
    def to_document(self) -> dict[str, Any]:
        """The fitted model and its metadata as a JSON-ready document."""

    @classmethod
    @abstractmethod
    def from_document(cls, document: Any, *, source: str | Path = "document") -> Self:
        """The model of a document made by :meth:`to_document`; ``source`` names it in errors."""

    def save(self, path: str | Path) -> None:
        """Write the fitted model and its metadata to one JSON file."""
        write_model_file(path, self.to_document())

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        return cls.from_document(read_model_file(path), source=path)

    def _require_fitted(self) -> Any:
        if self._fitted is None:
            raise ModelError(f"{type(self).__name__} is not fitted: call fit() first")
        return self._fitted
