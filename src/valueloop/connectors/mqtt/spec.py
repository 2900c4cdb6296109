"""Configuration of MQTT connectors: the broker link (shared with Sparkplug) and topic mappings.

The link settings give an at-least-once ingest by default: QoS 1, a fixed client id, a persistent
session (MQTT 5 ``clean_start`` false with a session expiry), so that messages published while the
connector is down wait at the broker and arrive when it comes back. ``points`` map topics to the
readings the connector reads; ``setpoints`` map the set-points it writes by JSON command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from valueloop.connectors.secrets import EnvName, check_one_secret
from valueloop.connectors.spec import FieldConnectorSpec, PointMap, check_setpoints
from valueloop.connectors.templates import SERIES_TEMPLATE_PATTERN, LevelTemplate, template_fields


class TlsSpec(BaseModel):
    """TLS to the broker: the CA that signed its certificate, and a client certificate if used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    """Skip the check that the broker's certificate names the host (test setups only)."""


class MqttBrokerSpec(FieldConnectorSpec):
    """How to reach an MQTT broker and keep a session there.

    Attributes:
        host, port: the broker's address (1883 plain, 8883 with TLS by convention).
        client_id: the MQTT client id; the session is kept under it. Default ``valueloop-<name>``.
        username: the user name to log in with.
        password: the password written in site.yaml itself (discouraged: give password_env or
            password_file instead; at most one of the three). Never logged or shown.
        password_env: the environment variable holding the password, read when the connector
            starts.
        password_file: a file holding the password (readable by its owner only: ``chmod 600``),
            read when the connector starts.
        tls: TLS options; None for a plain TCP link.
        qos: 1 (at least once, acknowledged after the delivery was handed over) or 0.
        keepalive: seconds between pings when idle.
        clean_start: False keeps the broker session (subscriptions and queued messages).
        session_expiry: seconds the broker keeps the session after a disconnect.
        receive_maximum: QoS 1 messages the broker may have in flight to the connector.
        reconnect_min, reconnect_max: exponential backoff bounds between reconnect attempts, s.
        batch_messages, batch_wait: a delivery gathers up to this many messages or waits at most
            this long (s) after the first one.
        max_payload_bytes: the largest payload read, bytes (4 MiB by default; MQTT allows
            256 MiB). A larger one is not decoded: it becomes one dead letter keeping its first
            KiB, and is acknowledged so that the broker does not send it again.
        max_items: the most readings (JSON array items, Sparkplug metrics) one message may carry
            (100,000 by default); a message with more is dead-lettered likewise.
    """

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_env: EnvName | None = None
    password_file: Path | None = None
    tls: TlsSpec | None = None
    qos: Literal[0, 1] = 1
    keepalive: Annotated[int, Field(ge=5, le=3600)] = 30
    clean_start: bool = False
    session_expiry: Annotated[int, Field(ge=0)] = 86_400
    receive_maximum: Annotated[int, Field(ge=1, le=65_535)] = 2_000
    reconnect_min: Annotated[int, Field(ge=1)] = 1
    reconnect_max: Annotated[int, Field(ge=1)] = 60
    batch_messages: Annotated[int, Field(ge=1)] = 2_000
    batch_wait: Annotated[float, Field(gt=0, le=5)] = 0.05
    max_payload_bytes: Annotated[int, Field(ge=1, le=268_435_455)] = 4 * 1024 * 1024
    max_items: Annotated[int, Field(ge=1)] = 100_000

    @model_validator(mode="after")
    def _backoff(self) -> MqttBrokerSpec:
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be at least reconnect_min")
        return self

    @model_validator(mode="after")
    def _one_password(self) -> MqttBrokerSpec:
        check_one_secret(self)
        return self

    @property
    def mqtt_client_id(self) -> str:
        """The client id the session is kept under."""
        return self.client_id or f"valueloop-{self.name}"


class MqttPointMap(PointMap):
    """Messages on ``topic`` mapped to ``series``.

    ``topic`` is an MQTT topic filter whose levels may be ``{placeholders}`` (``+`` that also
    captures the level), e.g. ``plant/{asset}/{signal}``; ``series`` is ``asset/signal`` where
    placeholders are filled from the topic, e.g. ``{asset}/{signal}``. A payload is a bare number,
    an object ``{"ts": ..., "value": ...}`` or an array of such objects (or ``[ts, value]`` pairs);
    objects may name ``"signal"`` (replacing the signal of ``series``) or ``"series"``
    (``asset/signal``). ``ts`` is an ISO 8601 string (UTC when it has no zone) or a number read
    per ``ts_format``; without ``ts`` the reading is stamped with the time it arrived.
    """

    series: Annotated[str, Field(pattern=SERIES_TEMPLATE_PATTERN)]
    topic: Annotated[str, Field(min_length=1)]
    ts_format: Literal["epoch_ms", "epoch_s"] = "epoch_ms"
    """How a numeric ``ts`` is read: milliseconds or seconds since 1970-01-01 UTC."""

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        LevelTemplate.parse(value.split("/"))
        return value

    @model_validator(mode="after")
    def _fields(self) -> MqttPointMap:
        captured = set(self.template.names)
        missing = [name for name in template_fields(self.series) if name not in captured]
        if missing:
            raise ValueError(f"series uses {', '.join(missing)}, which the topic does not capture")
        return self

    @property
    def template(self) -> LevelTemplate:
        """The parsed topic template."""
        return LevelTemplate.parse(self.topic.split("/"))

    @property
    def concrete(self) -> bool:
        """Whether ``series`` names one series (no placeholders)."""
        return not template_fields(self.series)


def _one_topic(topic: str) -> str:
    """``topic`` if it names one topic (a command is published to it); ValueError otherwise."""
    if not topic or any(mark in topic for mark in "+#{}\0"):
        raise ValueError(
            f"{topic!r} is not one topic: a set-point's topics have no +, # or {{placeholders}}"
        )
    return topic


Topic = Annotated[str, AfterValidator(_one_topic)]
"""One MQTT topic, not a filter."""


class MqttSetpoint(PointMap):
    """A set-point written by a JSON command on ``topic`` and confirmed by the device.

    The command is ``{"value": raw, "correlation_id": reference, "ts": "<ISO 8601 UTC>"}`` with
    ``raw = (value - offset) / scale``, published at ``qos`` with the MQTT 5 properties
    ResponseTopic (``reply_topic``, when set) and CorrelationData (the reference). The device
    answers on ``reply_topic`` with ``{"correlation_id": ..., "value": raw, "ok": true|false,
    "detail": "..."}`` and/or publishes the raw value it holds on ``state_topic`` (typically
    retained: the readings' topic), as an object with ``value_key`` or a bare number. At least one
    of the two is needed: nothing else could confirm a write.
    """

    topic: Topic
    """The command topic."""
    reply_topic: Topic | None = None
    """Where the device answers each command (sent as the command's ResponseTopic)."""
    state_topic: Topic | None = None
    """Where the device publishes the value it holds."""
    value_key: Annotated[str, Field(min_length=1)] = "value"
    """The key of the raw value in replies and state objects."""
    qos: Literal[1, 2] = 1
    """The QoS commands are published at."""

    @model_validator(mode="after")
    def _confirmed(self) -> MqttSetpoint:
        if self.reply_topic is None and self.state_topic is None:
            raise ValueError(
                f"set-point {self.series}: give reply_topic or state_topic (or both); without "
                f"either no command on {self.topic} could be confirmed"
            )
        return self


class MqttSpec(MqttBrokerSpec):
    """An MQTT JSON connector: broker link, readings by topic (first matching entry wins) and
    set-points written by command.

    Attributes:
        points: readings by topic; a connector maps at least one reading or one set-point.
        setpoints: set-points written by command.
        command_timeout: seconds a set-point write waits for the broker (the link, then the
            acknowledgement of the command) before it is reported failed.
        command_expiry: seconds the broker keeps a command for a device that is not connected
            (MQTT 5 message expiry): a late device gets no stale command.
    """

    kind: Literal["mqtt"]
    points: list[MqttPointMap] = Field(default_factory=list)
    setpoints: list[MqttSetpoint] = Field(default_factory=list)
    command_timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    command_expiry: Annotated[int, Field(ge=1)] = 60

    @model_validator(mode="after")
    def _mapped(self) -> MqttSpec:
        if not self.points and not self.setpoints:
            raise ValueError(
                "map at least one reading under points or one set-point under setpoints"
            )
        check_setpoints(self.setpoints)
        replies = {s.reply_topic for s in self.setpoints if s.reply_topic is not None}
        states = {s.state_topic for s in self.setpoints if s.state_topic is not None}
        both = sorted(replies & states)
        if both:
            raise ValueError(
                f"topic {', '.join(both)} is both a reply_topic and a state_topic; "
                "give each its own"
            )
        return self
