"""MQTT connectors: JSON payloads on mapped topics (:class:`MqttSource`) and the broker link.

Configuration is :class:`MqttSpec` (``kind: mqtt`` in site.yaml); :class:`MqttBrokerSpec` holds
the link settings the Sparkplug host shares.
"""

from valueloop.connectors.mqtt.link import Message, MqttLink, Will
from valueloop.connectors.mqtt.source import MqttSource
from valueloop.connectors.mqtt.spec import MqttBrokerSpec, MqttPointMap, MqttSpec, TlsSpec

__all__ = [
    "Message",
    "MqttBrokerSpec",
    "MqttLink",
    "MqttPointMap",
    "MqttSource",
    "MqttSpec",
    "TlsSpec",
    "Will",
]
