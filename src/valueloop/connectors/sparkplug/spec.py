"""Configuration of the Sparkplug B host application: identity, groups, metrics and set-points."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from valueloop.connectors.mqtt.spec import MqttBrokerSpec
from valueloop.connectors.spec import PointMap, check_setpoints
from valueloop.connectors.templates import SERIES_TEMPLATE_PATTERN, LevelTemplate, template_fields

_NAME = r"^[^/+#]+$"

SparkplugDataType = Literal[
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float",
    "Double",
    "Boolean",
]
"""The Sparkplug datatypes a set-point can be written in."""


def metric_levels(address: str) -> list[str]:
    """``group/edge_node/device/metric`` as four levels; the metric name may contain ``/``."""
    levels = address.split("/", 3)
    if len(levels) != 4:
        raise ValueError(
            f"{address!r} is not group/edge_node/device/metric (device empty for node metrics)"
        )
    return levels


class SparkplugMetricMap(PointMap):
    """Metrics matching ``metric`` mapped to ``series``.

    ``metric`` is ``group/edge_node/device/metric name``, the device empty for the edge node's own
    metrics (``line1/edge-1//Temperature``). Each of the four parts is a literal, ``+`` (any) or a
    ``{placeholder}`` capturing it; the metric part captures the whole name, ``/`` included.
    ``series`` (``asset/signal``) is filled from the captures, made valid names: runs of other
    characters than letters, digits and ``_`` become ``_`` (``Outlet Pressure`` gives
    ``Outlet_Pressure``; assets also keep ``.`` and ``-``). Example: metric
    ``line1/+/{device}/{metric}`` with series ``{device}/{metric}``.
    """

    series: Annotated[str, Field(pattern=SERIES_TEMPLATE_PATTERN)]
    metric: str

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        levels = metric_levels(value)
        if "#" in levels:
            raise ValueError("'#' is not allowed in a metric address; use '+' per part")
        LevelTemplate.parse(levels[:3])
        return value

    @model_validator(mode="after")
    def _fields(self) -> SparkplugMetricMap:
        captured = set(self.template.names)
        missing = [name for name in template_fields(self.series) if name not in captured]
        if missing:
            raise ValueError(f"series uses {', '.join(missing)}, which metric does not capture")
        return self

    @property
    def template(self) -> LevelTemplate:
        """The metric address as a four-level template."""
        return LevelTemplate(tuple(metric_levels(self.metric)))

    @property
    def concrete(self) -> bool:
        """Whether ``series`` names one series (no placeholders)."""
        return not template_fields(self.series)


class SparkplugSetpoint(PointMap):
    """The metric behind the set-point ``series``, written by an NCMD or DCMD.

    ``metric`` is ``group/edge_node/device/metric name`` as for :class:`SparkplugMetricMap`, but
    one metric: no ``+`` or ``{placeholder}``. An empty device names the edge node's own metric
    (written by NCMD), any other device a device metric (written by DCMD). The raw value
    ``(value - offset) / scale`` is sent in the metric's datatype.
    """

    metric: str
    """``group/edge_node/device/metric name``; the device empty for a node metric."""
    data_type: SparkplugDataType | None = None
    """the metric's datatype; null takes it from the birth certificate. When given, a write to a
    metric born with another datatype is refused."""

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        group, edge_node, _device, name = levels = metric_levels(value)
        if not (group and edge_node and name):
            raise ValueError(f"{value!r} needs a group, an edge node and a metric name")
        if any(part in ("+", "#") or "{" in part or "}" in part for part in levels):
            raise ValueError(f"{value!r}: a set-point is one metric, without '+' or placeholders")
        return value

    @property
    def address(self) -> tuple[str, str, str, str]:
        """``(group, edge_node, device, metric name)``, device "" for a node metric."""
        group, edge_node, device, name = metric_levels(self.metric)
        return group, edge_node, device, name


class SparkplugSpec(MqttBrokerSpec):
    """A Sparkplug B 3.0 host application reading the edge nodes of ``groups``.

    Attributes:
        host_id: the host application id; its STATE is published on ``spBv1.0/STATE/<host_id>``.
        primary: publish STATE births and deaths, so that edge nodes configured with this
            primary host wait for it before publishing.
        groups: Sparkplug group ids to subscribe to (``spBv1.0/<group>/#``).
        rebirth_interval: least seconds between two rebirth requests to the same edge node.
        points: metric mappings; the first matching entry wins, unmatched metrics are not read.
        setpoints: the metrics written as set-points, each mapped to its series.
        command_timeout: seconds a set-point read or write waits for the broker link, for the
            births it asked for, and for the broker to route its command.
    """

    kind: Literal["sparkplug"]
    host_id: Annotated[str, Field(pattern=_NAME)] = "valueloop"
    primary: bool = True
    groups: Annotated[list[Annotated[str, Field(pattern=_NAME)]], Field(min_length=1)]
    rebirth_interval: Annotated[float, Field(ge=0)] = 5.0
    points: Annotated[list[SparkplugMetricMap], Field(min_length=1)]
    setpoints: list[SparkplugSetpoint] = Field(default_factory=list)
    command_timeout: Annotated[float, Field(gt=0)] = 5.0

    @model_validator(mode="after")
    def _setpoints(self) -> SparkplugSpec:
        check_setpoints(self.setpoints)
        return self
