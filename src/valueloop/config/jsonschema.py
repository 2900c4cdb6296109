"""The JSON Schema of a configuration file, for an editor to complete and check ``site.yaml``.

The schema is pydantic's, in validation mode (what an author may write), with three changes that
make it describe the YAML a person writes rather than the Python objects it becomes:

- the ``connectors`` list is the union of the spec models of every installed connector kind (entry
  point group ``valueloop.connectors``), chosen by ``kind``;
- a duration is text such as ``12h``, ``30min``, ``1d``, ``90s`` (or a number of seconds), and
  duration defaults are written that way;
- a signal or attribute may be given by its unit alone (``vibration: mm/s``), and keys without a
  ``Field`` description are described from their docstrings (:mod:`.fielddocs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Tag, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from valueloop.config.fielddocs import field_docs, model_doc
from valueloop.config.types import AssetType
from valueloop.config.yamlio import DURATION
from valueloop.connectors.base import connector_class
from valueloop.connectors.spec import ConnectorSpec
from valueloop.errors import ConfigError
from valueloop.plugins import entry_points

DRAFT = "https://json-schema.org/draft/2020-12/schema"

DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DURATION.pattern},
        {"type": "number", "description": "seconds"},
    ],
    "examples": ["90s", "30min", "12h", "1d"],
}
"""A duration as a configuration file writes it."""

SHORTHANDS: dict[type[BaseModel], tuple[str, ...]] = {AssetType: ("signals", "attributes")}
"""Map-valued keys whose entries may be a unit alone: ``vibration: mm/s``."""


@dataclass(frozen=True)
class ConnectorKinds:
    """The installed connector kinds: the spec model of each, and those that could not be loaded."""

    models: dict[str, type[ConnectorSpec]]
    unavailable: dict[str, str]
    """Kind to the reason it is left out (an import error, no ``spec_model``)."""


def connector_kinds() -> ConnectorKinds:
    """Every kind registered in ``valueloop.connectors``, by name, with its spec model."""
    models: dict[str, type[ConnectorSpec]] = {}
    unavailable: dict[str, str] = {}
    for name in sorted({entry.name for entry in entry_points(group="valueloop.connectors")}):
        try:
            spec_model = getattr(connector_class(name), "spec_model", None)
        except (ImportError, ConfigError) as err:
            unavailable[name] = f"cannot be loaded: {err}"
            continue
        if isinstance(spec_model, type) and issubclass(spec_model, ConnectorSpec):
            models[name] = spec_model
        else:
            unavailable[name] = "has no spec_model"
    return ConnectorKinds(models, unavailable)


def _kind_of(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("kind")
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


def with_connector_kinds(model: type[BaseModel], kinds: ConnectorKinds) -> type[BaseModel]:
    """``model`` with its ``connectors`` typed as the union of ``kinds``' spec models."""
    if "connectors" not in model.model_fields or not kinds.models:
        return model
    members = tuple(Annotated[spec, Tag(kind)] for kind, spec in kinds.models.items())
    entry = Annotated[Union[members], Discriminator(_kind_of)]  # type: ignore[valid-type]  # noqa: UP007
    field = model.model_fields["connectors"]
    return create_model(
        model.__name__, __base__=model, __doc__=model.__doc__, connectors=(list[entry], field)
    )


def short_duration(value: timedelta) -> str:
    """A duration as a file writes it: ``timedelta(days=2)`` as ``2d``, 90 s as ``90s``."""
    seconds = value.total_seconds()
    for suffix, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{suffix}"
    return f"{seconds:g}s"


def _plain(value: Any) -> Any:
    """A default as a file writes it: models as mappings, durations as ``12h``."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, timedelta):
        return short_duration(value)
    return value


def _allow_unit(entry: JsonSchemaValue) -> JsonSchemaValue:
    return {"anyOf": [entry, {"type": "string", "description": "the unit alone: `mm/s`"}]}


class ConfigJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema generator, describing YAML as an author writes it."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        """A duration: ``12h``, ``30min``, ``1d``, ``90s`` or a number of seconds."""
        return dict(DURATION_SCHEMA)

    def encode_default(self, dft: Any) -> Any:
        """Defaults as a file writes them (durations as ``7d``)."""
        return super().encode_default(_plain(dft))

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        """A model's schema, its keys described from their docstrings when Field says nothing."""
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        properties = json_schema.get("properties", {})
        for name, text in field_docs(cls).items():
            if text and name in properties and "description" not in properties[name]:
                properties[name]["description"] = text
        for name in SHORTHANDS.get(cls, ()):
            entries = properties.get(name, {}).get("patternProperties", {})
            for pattern, entry in entries.items():
                entries[pattern] = _allow_unit(entry)
        if "description" in json_schema:
            json_schema["description"] = model_doc(cls)
        return json_schema


def config_json_schema(
    model: type[BaseModel], kinds: ConnectorKinds | None = None
) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a configuration file validated by ``model``."""
    described = with_connector_kinds(model, kinds if kinds is not None else connector_kinds())
    schema = described.model_json_schema(mode="validation", schema_generator=ConfigJsonSchema)
    return {"$schema": DRAFT, **schema}
