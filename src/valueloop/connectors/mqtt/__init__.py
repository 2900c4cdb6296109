"""MQTT connectors: JSON payloads on mapped topics (:class:`MqttSource`), set-points written by
JSON command (:class:`MqttSink`) and the broker link.

Configuration is :class:`MqttSpec` (``kind: mqtt`` in site.yaml); :class:`MqttBrokerSpec` holds
the link settings the Sparkplug host shares.
"""

from valueloop.connectors.mqtt.link import Message, MqttLink, Will
from valueloop.connectors.mqtt.sink import MqttSink
from valueloop.connectors.mqtt.source import MqttSource
from valueloop.connectors.mqtt.spec import (
    MqttBrokerSpec,
    MqttPointMap,
    MqttSetpoint,
    MqttSpec,
    TlsSpec,
)

__all__ = [
    "Message",
    "MqttBrokerSpec",
    "MqttLink",
    "MqttPointMap",
    "MqttSetpoint",
    "MqttSink",
    "MqttSource",
    "MqttSpec",
    "TlsSpec",
    "Will",
]
