"""Arrow tables as response models: the one place store rows become JSON-ready data."""

from __future__ import annotations

from typing import TypeVar

import pyarrow as pa
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def rows_as(model: type[M], table: pa.Table) -> list[M]:
    """Each row of ``table`` as a ``model``; columns the model does not name are left out."""
    return [model.model_validate(row) for row in table.to_pylist()]
