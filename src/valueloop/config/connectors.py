"""The ``connectors:`` list of a site or edge file: each entry checked by its kind's model."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from valueloop.connectors.base import connector_class
from valueloop.connectors.spec import ConnectorSpec
from valueloop.errors import ConfigError


def _spec_errors(index: int, raw: Any) -> tuple[ConnectorSpec | None, list[InitErrorDetails]]:
    """Validate one connector entry by the spec model of its kind."""
    if not isinstance(raw, dict):
        return None, [{"type": "dict_type", "loc": (index,), "input": raw}]
    if "kind" not in raw:
        return None, [{"type": "missing", "loc": (index, "kind"), "input": raw}]
    try:
        spec_model = getattr(connector_class(str(raw["kind"])), "spec_model", None)
    except ConfigError as err:
        error = PydanticCustomError("connector_kind", str(err))
        return None, [{"type": error, "loc": (index, "kind"), "input": raw["kind"]}]
    if not (isinstance(spec_model, type) and issubclass(spec_model, ConnectorSpec)):
        error = PydanticCustomError("connector_kind", f"kind {raw['kind']!r} has no spec_model")
        return None, [{"type": error, "loc": (index, "kind"), "input": raw["kind"]}]
    try:
        return spec_model.model_validate(raw), []
    except ValidationError as err:
        return None, [
            {
                "type": PydanticCustomError(error["type"], error["msg"]),
                "loc": (index, *error["loc"]),
                "input": error["input"],
            }
            for error in err.errors()
        ]


def connector_specs(value: Any) -> list[ConnectorSpec]:
    """Validate each connector entry against the configuration model of its ``kind``."""
    if not isinstance(value, list):
        raise ValueError("connectors must be a list")
    specs: list[ConnectorSpec] = []
    errors: list[InitErrorDetails] = []
    for index, raw in enumerate(value):
        if isinstance(raw, ConnectorSpec):
            specs.append(raw)
            continue
        spec, problems = _spec_errors(index, raw)
        errors.extend(problems)
        if spec is not None:
            specs.append(spec)
    if errors:
        raise ValidationError.from_exception_data("connectors", errors)
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"connector names must be unique; repeated: {', '.join(repeated)}")
    return specs
