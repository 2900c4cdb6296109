"""Configuration of an OPC UA connector: the server, the session, and the node mappings.

Intervals of the OPC UA protocol (publishing, sampling) are in milliseconds, as the specification
states them; the connector's own timings (request timeout, watchdog, reconnect backoff) in seconds.
A node is named by its NodeId (``ns=2;s=Pump1.Pressure``, ``i=2258``) or by a browse path from the
Root folder, written with qualified names (``/Objects/2:Pump1/2:Pressure``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from asyncua import ua
from asyncua.ua.uaerrors import UaError
from pydantic import AfterValidator, Field, SecretStr, model_validator

from valueloop.connectors.secrets import EnvName, check_one_secret
from valueloop.connectors.spec import FieldConnectorSpec, PointMap, check_setpoints

DataTypeName = Literal[
    "Boolean",
    "SByte",
    "Byte",
    "Int16",
    "UInt16",
    "Int32",
    "UInt32",
    "Int64",
    "UInt64",
    "Float",
    "Double",
]
"""The OPC UA built-in numeric types a set-point can be written as."""


def check_node(node: str) -> str:
    """``node`` if it is a NodeId string or a ``/``-rooted browse path; ValueError otherwise."""
    if node.startswith("/"):
        if any(not part for part in node[1:].split("/")):
            raise ValueError(f"browse path {node!r} has an empty element")
        return node
    try:
        ua.NodeId.from_string(node)
    except (ValueError, UaError) as err:
        raise ValueError(
            f"{node!r} is neither a NodeId (ns=2;s=Pump1.Pressure, i=2258) nor a browse path "
            "(/Objects/2:Pump1/2:Pressure)"
        ) from err
    return node


NodeRef = Annotated[str, AfterValidator(check_node)]
"""A node named by NodeId string or browse path, checked when the configuration is read."""


class OpcUaPoint(PointMap):
    """A variable node read into a series by a monitored item.

    ``sampling_interval_ms`` overrides the connector's default; ``deadband`` (in the node's raw
    unit when ``absolute``, in percent of its EURange when ``percent``) asks the server to report
    only changes larger than it. 0 reports every change.
    """

    node: NodeRef
    sampling_interval_ms: Annotated[float, Field(ge=0)] | None = None
    deadband: Annotated[float, Field(ge=0)] = 0.0
    deadband_type: Literal["absolute", "percent"] = "absolute"


class OpcUaSetpoint(PointMap):
    """A writable node behind the set-point of a series.

    The written raw value is ``(value - offset) / scale``, encoded as ``data_type``.
    """

    node: NodeRef
    data_type: DataTypeName = "Double"


class OpcUaSpec(FieldConnectorSpec):
    """An OPC UA server read by subscription and written through approved set-points.

    ``security`` is an asyncua security string (``Basic256Sha256,SignAndEncrypt,cert.pem,key.pem``)
    or None for no security; ``username`` logs in when given, with the password of
    ``password_env``, ``password_file`` or ``password`` (never shown in logs or errors).
    ``timestamp`` chooses the source or server timestamp of each value (falling back to the other,
    then to the receive time, when the server leaves it out).
    """

    kind: Literal["opcua"] = "opcua"
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://[^\s]+$")]
    security: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    """The password written in site.yaml itself (discouraged: give password_env or password_file
    instead; at most one of the three)."""
    password_env: EnvName | None = None
    """The environment variable holding the password, read when a session is opened."""
    password_file: Path | None = None
    """A file holding the password (readable by its owner only: ``chmod 600``), read when a
    session is opened."""
    publishing_interval_ms: Annotated[float, Field(gt=0)] = 500.0
    sampling_interval_ms: Annotated[float, Field(ge=0)] = 250.0
    timestamp: Literal["source", "server"] = "source"
    timeout_s: Annotated[float, Field(gt=0)] = 4.0
    watchdog_interval_s: Annotated[float, Field(gt=0)] = 1.0
    reconnect_initial_s: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    points: Annotated[list[OpcUaPoint], Field(min_length=1)]
    setpoints: list[OpcUaSetpoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _setpoints(self) -> OpcUaSpec:
        check_setpoints(self.setpoints)
        return self

    @model_validator(mode="after")
    def _one_password(self) -> OpcUaSpec:
        check_one_secret(self)
        return self
