"""The site description, ``site.yaml``, as validated pydantic models.

A site names its asset hierarchy, the signals each asset carries and their units, the connectors
that read them, the prices that turn events into money, the maintenance resources and the approval
policy. :func:`load_site` reports a bad file with the field path and the line it is on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from valueloop.connectors.base import connector_class
from valueloop.connectors.spec import ConnectorSpec
from valueloop.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``"12h"``, ``"30min"``, ``"1d"`` or ``"90s"``."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 12h, 30min, 1d or 90s")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteInfo(_Strict):
    """Where the assets sit in the ISA-95 hierarchy."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    enterprise: str = "enterprise"
    area: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    line: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    timezone: str = "UTC"


class FleetSpec(_Strict):
    """The fleet of assets and the data set its history comes from."""

    dataset: Literal["cmapss"]
    subset: Literal["FD001", "FD002", "FD003", "FD004"]
    asset_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = "engine"
    observed_until: datetime

    @field_validator("observed_until")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-06-01T00:00:00Z")
        return value.astimezone(UTC)


class SignalSpec(_Strict):
    """One signal every asset carries, with its engineering unit."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]
    unit: str
    description: str = ""


class ReplayConnectorSpec(ConnectorSpec):
    """File replay: one row per asset cycle, timestamped ``cycle_interval`` apart."""

    kind: Literal["replay"]
    file: str
    cycle_interval: timedelta
    speedup: Annotated[float, Field(ge=0)] = 0.0
    batch_cycles: Annotated[int, Field(ge=1)] = 50
    restored_cycles: Annotated[int, Field(ge=1)] = 30

    @field_validator("cycle_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


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


class Prices(_Strict):
    """Money per event, in ``currency``."""

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    planned_overhaul: Annotated[float, Field(ge=0)]
    unplanned_failure: Annotated[float, Field(ge=0)]
    downtime_per_day: Annotated[float, Field(ge=0)]
    planned_downtime_days: Annotated[float, Field(ge=0)]
    unplanned_downtime_days: Annotated[float, Field(ge=0)]


class MaintenanceSpec(_Strict):
    """Maintenance resources and the planning horizon."""

    crew_per_day: Annotated[int, Field(ge=1)]
    horizon_days: Annotated[int, Field(ge=1, le=3650)]
    time_limit_s: Annotated[float, Field(gt=0)] = 10.0


class PolicySpec(_Strict):
    """How proposals become work orders."""

    approval: Literal["manual", "auto"] = "manual"
    approve_within_days: Annotated[int, Field(ge=0)] = 7


class StoreSpec(_Strict):
    """Where the time-series store lives; a relative DuckDB path is under the data directory."""

    url: str = "duckdb:///valueloop.duckdb"


class SiteConfig(_Strict):
    """A whole ``site.yaml``."""

    site: SiteInfo
    fleet: FleetSpec
    signals: Annotated[list[SignalSpec], Field(min_length=1)]
    connectors: Annotated[list[ConnectorSpec], Field(min_length=1)]
    prices: Prices
    maintenance: MaintenanceSpec
    policy: PolicySpec = PolicySpec()
    store: StoreSpec = StoreSpec()

    @field_validator("signals")
    @classmethod
    def _unique_signals(cls, value: list[SignalSpec]) -> list[SignalSpec]:
        names = [signal.name for signal in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"signal names must be unique; repeated: {', '.join(duplicates)}")
        return value

    @field_validator("connectors", mode="before")
    @classmethod
    def _connector_specs(cls, value: Any) -> list[ConnectorSpec]:
        return connector_specs(value)

    @property
    def replay(self) -> ReplayConnectorSpec:
        """The fleet's replay connector (the first one)."""
        for spec in self.connectors:
            if isinstance(spec, ReplayConnectorSpec):
                return spec
        raise ConfigError("the site has no replay connector to read its fleet history from")

    @property
    def cycles_per_day(self) -> float:
        """Asset cycles per day, from the replay connector's cycle interval."""
        return timedelta(days=1) / self.replay.cycle_interval


def _line_of(root: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``location``, or of its nearest existing parent."""
    node = root
    line = None if node is None else node.start_mark.line + 1
    for key in location:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_yaml(text: str, model: type[ModelT], *, source: str, what: str) -> ModelT:
    """Validate YAML text against ``model``; errors name the file, line and field."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for error in err.errors():
            location = tuple(error["loc"])
            field = ".".join(str(part) for part in location) or "(top level)"
            line = _line_of(root, location)
            where = f"line {line}" if line is not None else "unknown line"
            problems.append(f"{source}, {where}: {field}: {error['msg']}")
        raise ConfigError(f"invalid {what}:\n  " + "\n  ".join(problems)) from err


def read_yaml(path: str | Path, model: type[ModelT], *, what: str) -> ModelT:
    """Read and validate a YAML file against ``model``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{file}, the {what}, is not UTF-8 text: {err}") from err
    except OSError as err:
        raise ConfigError(f"cannot read {file}, the {what}: {err.strerror}") from err
    return parse_yaml(text, model, source=str(file), what=what)


def parse_site(text: str, *, source: str = "site.yaml") -> SiteConfig:
    """Validate site YAML text; errors name the file, line and field."""
    return parse_yaml(text, SiteConfig, source=source, what="site configuration")


def load_site(path: str | Path) -> SiteConfig:
    """Read and validate a ``site.yaml`` file."""
    return read_yaml(path, SiteConfig, what="site configuration")
