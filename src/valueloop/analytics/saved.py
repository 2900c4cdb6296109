"""A fitted model saved with its provenance: metadata, version, ``save`` and ``load`` written once.

Every model (the RUL models, the expected-value model, the forecaster, the plant output model)
keeps a fitted state of its own (boosters, a network, a step) and the
:class:`~valueloop.analytics.metadata.ModelMetadata` of the fit. A subclass of :class:`SavedModel`
names its ``file_format`` and ``version_prefix``, records each fit with
:meth:`~SavedModel._record_fit`, and says what its state is (:meth:`~SavedModel._state`) and how to
take it back (:meth:`~SavedModel._restore`); :class:`SavedModel` derives ``metadata``, ``version``,
``to_document``, ``from_document``, ``save`` and ``load`` from them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

from valueloop.analytics.base import Estimator
from valueloop.analytics.metadata import (
    ModelMetadata,
    model_document,
    parse_model_document,
    read_model_file,
    write_model_file,
)
from valueloop.errors import ModelError


class SavedModel(Estimator, ABC):
    """Base of a model saved in one JSON file with its metadata; see the module docstring.

    Attributes:
        file_format: the ``format`` of its files, e.g. ``"valueloop.forecast/1"``; :meth:`load`
            refuses a file of another format.
        version_prefix: what its :attr:`version` starts with, e.g. ``"forecast"``.
        load_errors: errors of building the model from its file's hyper-parameters and state that
            :meth:`load` reports as :class:`~valueloop.errors.ModelError` naming the file.
    """

    file_format: ClassVar[str]
    version_prefix: ClassVar[str]
    load_errors: ClassVar[tuple[type[Exception], ...]] = (KeyError, TypeError, ValueError)
    _metadata: ModelMetadata | None = None

    @property
    def metadata(self) -> ModelMetadata:
        """Version, hyper-parameters, training data hash, training metrics, library versions.

        Each model's class documentation lists its metrics and their units.
        """
        if self._metadata is None:
            raise self._not_fitted()
        return self._metadata

    @property
    def version(self) -> str:
        """``version_prefix``, ``-`` and a hash of the hyper-parameters and the training data."""
        return self.metadata.version

    def to_document(self) -> dict[str, Any]:
        """The fitted state and the metadata as a JSON-ready document."""
        return model_document(self.file_format, self.metadata, self._state())

    @classmethod
    def from_document(cls, document: Any, *, source: str | Path = "document") -> Self:
        """The model of a document made by :meth:`to_document`; ``source`` names it in errors."""
        meta, state = parse_model_document(document, cls.file_format, source)
        try:
            model = cls(**meta.params)
            model._restore(state, source)
        except cls.load_errors as err:
            raise ModelError(f"cannot load model from {source}: {err}") from err
        model._metadata = meta
        return model

    def save(self, path: str | Path) -> None:
        """Write the fitted state and the metadata to one JSON file."""
        write_model_file(path, self.to_document())

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        return cls.from_document(read_model_file(path), source=path)

    def _record_fit(self, data_hash: str, metrics: dict[str, float]) -> None:
        """Keep the metadata of a fit just made on data hashing to ``data_hash``.

        The hyper-parameters are kept as they read back from JSON (a tuple as a list), so a
        loaded model's metadata equals the saved one's.
        """
        params = json.loads(json.dumps(self.get_params()))
        self._metadata = ModelMetadata.of_fit(self.version_prefix, params, data_hash, metrics)

    @abstractmethod
    def _state(self) -> dict[str, Any]:
        """The fitted state, JSON-ready; :class:`~valueloop.errors.ModelError` if not fitted."""

    @abstractmethod
    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        """Take back the fitted state of :meth:`_state`; ``source`` names the file in errors."""

    def _not_fitted(self) -> ModelError:
        return ModelError(f"{type(self).__name__} is not fitted: call fit() first")
