"""Bounds on one MQTT message, so that what it costs to read stays proportional to its size.

A payload larger than ``max_payload_bytes`` (of :class:`~valueloop.connectors.mqtt.MqttBrokerSpec`)
is not decoded at all, and one carrying more readings than ``max_items`` is not read: each becomes
a single dead letter that keeps only the first :data:`EXCERPT_BYTES` of the payload, and is
acknowledged like any other message, so that the broker does not deliver it again.
"""

from __future__ import annotations

EXCERPT_BYTES = 1024
"""Bytes of a refused payload (or of one refused item) a dead letter keeps."""


def excerpt(payload: bytes) -> bytes:
    """The first :data:`EXCERPT_BYTES` of ``payload``."""
    return payload[:EXCERPT_BYTES]


def _kept(size: int) -> str:
    return "" if size <= EXCERPT_BYTES else f"; raw keeps its first {EXCERPT_BYTES:,} bytes"


def oversized(payload: bytes, max_payload_bytes: int) -> str | None:
    """Why ``payload`` is too large to decode, or None if it is not."""
    size = len(payload)
    if size <= max_payload_bytes:
        return None
    return f"payload of {size:,} bytes exceeds max_payload_bytes {max_payload_bytes:,}{_kept(size)}"


def too_many(count: int, what: str, max_items: int, size: int) -> str:
    """Why a payload of ``size`` bytes carrying ``count`` ``what`` (e.g. "items") is not read."""
    return f"{count:,} {what} exceed max_items {max_items:,}{_kept(size)}"
