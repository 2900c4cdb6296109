"""Configuration models shared by every connector: its identity and its signal mappings.

A connector entry of ``site.yaml`` (or ``edge.yaml``) names the connector, its ``kind`` (the entry
point it is registered under in ``valueloop.connectors``) and, for field connectors, the mapping of
each source address (an MQTT topic, an OPC UA node id, a Modbus register) to a series. Each kind
subclasses :class:`ConnectorSpec` with its own fields; the mapping entries subclass
:class:`PointMap`. A series is written ``asset/signal`` under the connector's ``prefix``
(``site/area/line``), giving the full series path ``site/area/line/asset/signal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from valueloop.model.paths import SERIES_PATTERN, series_path


class ConnectorSpec(BaseModel):
    """The part of every connector's configuration: its name and registered kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: str


class PointMap(BaseModel):
    """One source address mapped to a series, with the linear conversion to engineering units.

    The stored value is ``raw * scale + offset``, in ``unit``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    series: Annotated[str, Field(pattern=SERIES_PATTERN)]
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0
    description: str = ""


def check_setpoints(setpoints: Sequence[PointMap]) -> None:
    """Refuse set-point mappings that cannot be written as meant: one series mapped twice (which
    address would be written?), or a scale of 0 (no raw value gives any set-point but the
    offset). Raises ValueError, for a spec's model validator."""
    series = [setpoint.series for setpoint in setpoints]
    twice = sorted({name for name in series if series.count(name) > 1})
    if twice:
        raise ValueError(f"set-point {', '.join(twice)} is mapped more than once")
    flat = [setpoint.series for setpoint in setpoints if setpoint.scale == 0]
    if flat:
        raise ValueError(
            f"set-point {', '.join(flat)} has scale 0, so no raw value gives a set-point other "
            "than the offset"
        )


class FieldConnectorSpec(ConnectorSpec):
    """A connector reading the field: the ``site/area/line`` its series hang under."""

    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]

    def path(self, mapping: PointMap) -> str:
        """The full series path of ``mapping``."""
        return series_path(self.prefix, mapping.series)
