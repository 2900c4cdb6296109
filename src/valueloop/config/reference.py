"""``docs/site-reference.md``: every key of ``site.yaml``, generated from the models that read it.

One section per part of the file (the site, asset types and what they hold, assets, connectors of
every installed kind, decisions, policy, tariffs, store, packs), one table per model: key, type,
default and description, the descriptions taken from the models' fields and docstrings
(:mod:`.fielddocs`). ``valueloop schema site --markdown > docs/site-reference.md`` refreshes the
file; a test fails when it is out of date.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from valueloop.config.fielddocs import field_docs, model_doc
from valueloop.config.jsonschema import ConnectorKinds, connector_kinds, short_duration
from valueloop.config.site import (
    AssetSpec,
    Condition,
    DecisionsSpec,
    PlannerSpec,
    PolicySpec,
    ProposalSpec,
    RuleSpec,
    SiteConfig,
    SiteInfo,
    StoreSpec,
    TariffSpec,
)
from valueloop.config.types import (
    NAME,
    AlarmSpec,
    AssetType,
    AttributeSpec,
    BindingSpec,
    CostsSpec,
    FitSpec,
    LimitsSpec,
    SetpointSpec,
    SignalSpec,
    StaleSpec,
)
from valueloop.connectors.spec import ConnectorSpec

COMMAND = "valueloop schema site --markdown > docs/site-reference.md"
"""The command that writes the reference."""

HEADER = f"""# site.yaml reference

Generated from the configuration models by `{COMMAND}`; do not edit it by hand.
`valueloop init` writes a commented starter file and `valueloop schema site` prints the JSON Schema
of the file, for an editor to complete and check it.

Conventions: a key that is not listed is an error. A *name* (signals, set-points, attributes,
bindings, alarms, asset types, tariffs) is letters, digits and `_`, not starting with a digit. A
*duration* is written `90s`, `30min`, `12h` or `1d` (or a number of seconds). Units are written as
pint reads them (`kW`, `mm/s`, `degC`, `bar`, `m^3/h`, `rpm`, `percent`); `""` is dimensionless.
A default of `null` means the key may be left out. Errors name the file, line and key.
"""


@dataclass(frozen=True)
class Section:
    """A part of the reference: a heading, a few words, and the models it documents."""

    title: str
    text: str
    models: tuple[type[BaseModel], ...]


SECTIONS = (
    Section(
        "Site", "The top level of the file, and the site it describes.", (SiteConfig, SiteInfo)
    ),
    Section(
        "Asset types",
        "Templates: what every asset of a type measures, how it is analysed and alarmed, and what "
        "it costs (under `asset_types`, by type name).",
        (AssetType,),
    ),
    Section(
        "Signals",
        "Measured signals of an asset type, by name. `vibration: mm/s` is short for "
        "`vibration: {unit: mm/s}`. Each asset's signal is the series "
        "`site/area/line/asset/signal`.",
        (SignalSpec,),
    ),
    Section("Set-points", "Writable values of an asset type, by name.", (SetpointSpec,)),
    Section(
        "Attributes",
        "Static values of every asset of a type, by name; an asset sets its own under "
        "`attributes`. `rated_power: kW` is short for `rated_power: {unit: kW}`.",
        (AttributeSpec,),
    ),
    Section(
        "Analytics bindings",
        "Detectors and models run for every asset of a type (under `analytics`). Their outputs "
        "are series of the same asset: a detector binding `health` writes `health_score`.",
        (BindingSpec, FitSpec),
    ),
    Section(
        "Alarms",
        "Alarms of an asset type (under its `alarms`) or of the site (top-level `alarms`, naming "
        "their `assets`).",
        (AlarmSpec, LimitsSpec, StaleSpec),
    ),
    Section("Costs", "", (CostsSpec,)),
    Section(
        "Assets",
        "The assets, each at `area/line/asset` and of a declared type. An asset is known by its "
        "name, the last segment, which is unique in the site.",
        (AssetSpec,),
    ),
    Section("Decisions", "", (DecisionsSpec, RuleSpec, Condition, ProposalSpec, PlannerSpec)),
    Section("Policy", "", (PolicySpec,)),
    Section(
        "Tariffs",
        "Prices by name, e.g. `electricity: {price: 0.21, unit: EUR/kWh}`, in the site's currency.",
        (TariffSpec,),
    ),
    Section("Store", "", (StoreSpec,)),
    Section(
        "Packs",
        "`packs` lists installed sector packs (entry point group `valueloop.packs`) whose jobs run "
        "with the site, by name: `packs: [aviation]`.",
        (),
    ),
)
"""The sections in the order of the file; connectors are placed after assets."""

CONNECTORS_TEXT = (
    "How the site's signals are read from the field (under `connectors`). Every connector has a "
    "unique `name` and a `kind`, the connector it is; a field connector hangs its series under "
    "`prefix` (`site/area/line`) and maps each source address to `series` (`asset/signal`). The "
    "stored value is `raw * scale + offset`; a mapping whose `unit` differs from the signal's has "
    "the conversion folded into `scale` and `offset` when the site is read (W to kW, degF to degC)."
)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _constraints(metadata: list[Any]) -> list[str]:
    """Words for the constraints of a type (``>= 0``, ``at least 1 item``, a pattern)."""
    words: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            words.extend(_constraints(item.metadata))
            continue
        for attribute, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(item, attribute, None)
            if bound is not None:
                words.append(f"{word} {bound}")
        if getattr(item, "min_length", None):
            words.append(f"at least {item.min_length}")
        if getattr(item, "max_length", None):
            words.append(f"at most {item.max_length}")
        pattern = getattr(item, "pattern", None)
        if pattern is not None and pattern != NAME:
            words.append(f"matching `{pattern}`")
    return words


def _is_name(metadata: list[Any]) -> bool:
    return any(
        getattr(item, "pattern", None) == NAME
        or (isinstance(item, FieldInfo) and _is_name(item.metadata))
        for item in metadata
    )


def _type(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A readable type: ``float (>= 0)``, ``list of name``, ``map of name to SignalSpec``."""
    metadata = metadata or []
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return _type(base, [*extra, *metadata])
    if origin in (Union, types.UnionType):
        members = [member for member in get_args(annotation) if member is not type(None)]
        return " or ".join(_type(member) for member in members)
    if origin is Literal:
        return " or ".join(f"`{value}`" for value in get_args(annotation))
    if origin is list:
        text = f"list of {_type(get_args(annotation)[0])}"
    elif origin is dict:
        key, value = get_args(annotation)
        text = f"map of {_type(key)} to {_type(value)}"
    elif annotation is ConnectorSpec:
        text = "[connector of an installed kind](#connectors)"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        text = f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    elif annotation is str and _is_name(metadata):
        return "name"
    else:
        text = _SIMPLE.get(annotation, getattr(annotation, "__name__", str(annotation)))
    words = _constraints(metadata)
    return f"{text} ({', '.join(words)})" if words else text


_SIMPLE: dict[Any, str] = {
    str: "string",
    float: "number",
    int: "integer",
    bool: "boolean",
    timedelta: "duration",
    datetime: "date-time (ISO 8601)",
    Path: "path",
    SecretStr: "string (secret)",
    Any: "any",
}


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return "`null`"
    if isinstance(value, BaseModel):
        return "its defaults"
    if isinstance(value, timedelta):
        return f"`{short_duration(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{value!r}`"


def _nested(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """The models ``model``'s keys hold, in key order."""

    def walk(annotation: Any) -> Iterator[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield annotation
        for argument in get_args(annotation):
            yield from walk(argument)

    for field in model.model_fields.values():
        yield from walk(field.annotation)


def _table(model: type[BaseModel], intro: str = "") -> str:
    docs = field_docs(model)
    rows = [
        f"| `{name}` | {_escape(_type(field.annotation, field.metadata))} | "
        f"{_escape(_default(field))} | {_escape(docs[name])} |"
        for name, field in model.model_fields.items()
    ]
    parts = [f"### {model.__name__}", intro, model_doc(model)]
    table = "\n".join(["| key | type | default | description |", "|---|---|---|---|", *rows])
    return "\n\n".join([part for part in parts if part] + [table])


class _Writer:
    """Documents each model once: listed models where placed, others after the model using them."""

    def __init__(self, placed: set[type[BaseModel]]) -> None:
        self.placed = placed
        self.done: set[type[BaseModel]] = set()

    def models(self, model: type[BaseModel], intro: str = "") -> Iterator[str]:
        if model in self.done:
            return
        self.done.add(model)
        yield _table(model, intro)
        for inner in _nested(model):
            if inner not in self.placed:
                yield from self.models(inner)


def _connector_part(writer: _Writer, kinds: ConnectorKinds) -> Iterator[str]:
    listed = ", ".join(
        f"`{kind}` ([{model.__name__}](#{model.__name__.lower()}))"
        for kind, model in kinds.models.items()
    )
    yield f"## Connectors\n\n{CONNECTORS_TEXT}\n\nInstalled kinds: {listed or 'none'}."
    for kind, model in kinds.models.items():
        yield from writer.models(model, f"`kind: {kind}`")


def site_reference(kinds: ConnectorKinds | None = None) -> str:
    """The Markdown reference of ``site.yaml`` (the text of ``docs/site-reference.md``)."""
    kinds = kinds if kinds is not None else connector_kinds()
    placed = {model for section in SECTIONS for model in section.models}
    placed |= {ConnectorSpec, *kinds.models.values()}
    writer = _Writer(placed)
    parts = [HEADER.strip()]
    for section in SECTIONS:
        if section.title == "Decisions":
            parts.extend(_connector_part(writer, kinds))
        parts.append("\n\n".join(part for part in (f"## {section.title}", section.text) if part))
        for model in section.models:
            parts.extend(writer.models(model))
    return "\n\n".join(parts) + "\n"
