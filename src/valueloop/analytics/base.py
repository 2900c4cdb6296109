"""The contract every analytics model follows, in the style of scikit-learn and river.

A model is configured only through keyword arguments of ``__init__`` (its hyper-parameters, which
``__init__`` stores and nothing more); :meth:`Model.get_params` returns them, so :func:`clone` can
build an unfitted copy. :class:`Estimator` derives ``get_params`` from the signature of ``__init__``
for every model, detector and baseline; :class:`~valueloop.analytics.saved.SavedModel` adds the
metadata, version and persistence of a fitted model. :meth:`Model.fit` learns from an Arrow table
and returns the model itself; :meth:`Model.predict` returns one row per asset with the columns of
``output_schema``, and raises :class:`~valueloop.errors.ModelError` when called before ``fit``.
:func:`check_model` verifies all of this on real data, for use in tests.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import ModelError


class Estimator:
    """Hyper-parameters are the keyword arguments of ``__init__``, stored under their own names."""

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments accepted by ``__init__``."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}


class Parametrised(Protocol):
    """Anything built from the keyword arguments :meth:`get_params` returns."""

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments accepted by ``__init__``."""
        ...


@runtime_checkable
class Model(Protocol):
    """A fittable model mapping an Arrow table of histories to one prediction row per asset."""

    output_schema: ClassVar[pa.Schema]

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments accepted by ``__init__``."""
        ...

    def fit(self, data: pa.Table) -> Self:
        """Learn from ``data`` and return ``self``."""
        ...

    def predict(self, data: pa.Table) -> pa.Table:
        """One row per asset of ``data``, sorted by asset, with the columns of ``output_schema``."""
        ...


E = TypeVar("E", bound=Parametrised)


def clone(estimator: E) -> E:
    """A new, unfitted instance of ``estimator``'s class with the same hyper-parameters."""
    factory: Any = type(estimator)
    new: E = factory(**estimator.get_params())
    return new


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _expect_unfitted(model: Model, data: pa.Table, message: str) -> None:
    try:
        model.predict(data)
    except ModelError:
        return
    raise AssertionError(message)


def check_model(model: Model, train: pa.Table, test: pa.Table, *, asset: str = "unit") -> None:
    """Raise :class:`AssertionError` if ``model`` breaks the contract on ``train`` and ``test``.

    Checks, on unfitted clones of ``model`` (which is left untouched): ``predict`` before ``fit``
    raises :class:`ModelError`; ``fit`` returns the model; ``predict`` returns ``output_schema``
    with exactly one row per ``asset`` of ``test``, sorted; a clone of a fitted model is unfitted
    with equal hyper-parameters; two fits with the same hyper-parameters predict identically.
    """
    fresh = clone(model)
    _expect_unfitted(fresh, test, "predict before fit did not raise ModelError")
    _expect(fresh.fit(train) is fresh, "fit did not return the model itself")
    predicted = fresh.predict(test)
    _expect(
        predicted.schema.equals(model.output_schema),
        f"predict returned schema {predicted.schema}, expected {model.output_schema}",
    )
    expected_assets = pc.unique(test[asset]).sort().to_pylist()
    _expect(
        predicted[asset].to_pylist() == expected_assets,
        f"predict did not return one row per {asset}, in {asset} order",
    )
    copy = clone(fresh)
    _expect(copy.get_params() == model.get_params(), "clone changed the hyper-parameters")
    _expect_unfitted(copy, test, "a clone of a fitted model is already fitted")
    _expect(copy.fit(train).predict(test).equals(predicted), "same seed gave other predictions")
