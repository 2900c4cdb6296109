"""What a saved model carries besides its weights: enough to know where a prediction came from.

:class:`ModelMetadata` holds the model's version string (named in every prediction), its
hyper-parameters, a hash of the training data, metrics measured during ``fit`` (for example the
RMSE on held-out training engines, in cycles) and the versions of the libraries it was fitted with.
:func:`model_document` packs it with the model's own state into one JSON-ready document (a model
made of other models nests theirs); :func:`write_model_file` and :func:`read_model_file` store and
read such documents, converting file and format errors into :class:`~valueloop.errors.ModelError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import ModelError

_LIBRARIES = ("valueloop", "numpy", "pyarrow", "lightgbm", "scikit-learn", "torch")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model's numbers depend on (absent ones omitted)."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def table_hash(table: pa.Table, columns: Sequence[str]) -> str:
    """SHA-256 of ``columns`` of ``table`` taken in ``unit``, ``cycle`` order (hex)."""
    ordered = table.take(pc.sort_indices(table, [("unit", "ascending"), ("cycle", "ascending")]))
    digest = hashlib.sha256()
    for name in columns:
        digest.update(name.encode())
        digest.update(ordered[name].combine_chunks().to_numpy(zero_copy_only=False).tobytes())
    return digest.hexdigest()


def model_version(prefix: str, params: Mapping[str, Any], data_hash: str) -> str:
    """``<prefix>-`` and 12 hex digits hashing the hyper-parameters and the training data."""
    text = json.dumps(params, sort_keys=True)
    return f"{prefix}-{hashlib.sha256(f'{text}|{data_hash}'.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class ModelMetadata:
    """Provenance of a fitted model; see the module docstring."""

    version: str
    params: dict[str, Any]
    data_hash: str
    metrics: dict[str, float] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=library_versions)

    @classmethod
    def of_fit(
        cls, kind: str, params: dict[str, Any], data_hash: str, metrics: dict[str, float]
    ) -> ModelMetadata:
        """The metadata of a model of ``kind`` (the version prefix) fitted just now."""
        return cls(
            version=model_version(kind, params, data_hash),
            params=params,
            data_hash=data_hash,
            metrics=metrics,
        )


def model_document(
    file_format: str, meta: ModelMetadata, state: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON-ready document of a fitted model: ``{"format", "metadata", "state"}``."""
    return {"format": file_format, "metadata": asdict(meta), "state": dict(state)}


def parse_model_document(
    document: Any, file_format: str, source: str | Path
) -> tuple[ModelMetadata, dict[str, Any]]:
    """The metadata and state of a document made by :func:`model_document` in ``file_format``."""
    if not isinstance(document, dict) or document.get("format") != file_format:
        raise ModelError(f"{source} is not a {file_format} model file")
    try:
        return ModelMetadata(**document["metadata"]), dict(document["state"])
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"cannot load model from {source}: {err}") from err


def write_model_file(path: str | Path, document: Mapping[str, Any]) -> None:
    """Write a model document as JSON to ``path``."""
    try:
        Path(path).write_text(json.dumps(document), encoding="utf-8")
    except OSError as err:
        raise ModelError(f"cannot write model file {path}: {err}") from err


def read_model_file(path: str | Path) -> Any:
    """The JSON document in ``path``; :class:`ModelError` naming the file if it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot load model from {path}: {err}") from err
