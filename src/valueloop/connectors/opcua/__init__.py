"""The OPC UA connector: subscriptions in, approved set-points out, browse to import nodes.

- :class:`OpcUaSource` reads mapped nodes by subscription (sampling interval, deadband), and
  reconnects and resubscribes after the server comes back;
- :class:`OpcUaSink` writes set-points approved in act/ and reads them back;
- :func:`browse` lists a server's variables and :func:`points_from_browse` drafts their mapping.
"""

from valueloop.connectors.opcua.browse import BROWSE_SCHEMA, browse, points_from_browse
from valueloop.connectors.opcua.sink import OpcUaSink
from valueloop.connectors.opcua.source import OpcUaSource
from valueloop.connectors.opcua.spec import OpcUaPoint, OpcUaSetpoint, OpcUaSpec

__all__ = [
    "BROWSE_SCHEMA",
    "OpcUaPoint",
    "OpcUaSetpoint",
    "OpcUaSink",
    "OpcUaSource",
    "OpcUaSpec",
    "browse",
    "points_from_browse",
]
