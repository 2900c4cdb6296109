"""The fuzz targets: the MQTT JSON decoder, the Sparkplug B host and the site.yaml reader.

Each target takes one input (bytes) and returns when the product handled it as documented: read,
turned into dead letters, or refused with the product's own error (:class:`ConfigError` for a
site.yaml). Any other exception escaping a target is a crash, as is a series name that the MQTT
decoder takes from a payload and that is not ``asset/signal``. One input may carry several messages
(a batch), so that the fuzzer also reaches what spans messages: a Sparkplug birth and the data
that refers to it, array payloads read together as one Arrow document.

- ``mqtt_json``: records separated by ``\\x1e``, each ``topic\\x1fpayload`` (or a payload alone,
  on :data:`MQTT_TOPIC`), decoded by ``decode_batch``.
- ``sparkplug``: records of one byte choosing the topic in :data:`SPARKPLUG_TOPICS` (modulo its
  length), a two-byte big-endian payload length and the payload, handled in order by one new
  host application, then gathered into a delivery.
- ``site_yaml``: the bytes as a ``site.yaml`` file, read by ``load_site`` with the analytic kinds
  the command line reads sites with.

The specs of the first two are small (:data:`MQTT_SPEC`, :data:`SPARKPLUG_SPEC`): payload and item
limits a fuzzer's inputs of a few KiB can exceed. As the broker link does, the messages of an input
are handed over in batches of at most ``batch_messages``, each read into one delivery.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD = b"\x1e"
"""Separates the messages of an ``mqtt_json`` input."""
TOPIC_END = b"\x1f"
"""Ends the topic of an ``mqtt_json`` record that names one."""
MQTT_TOPIC = "plant/pump-1/flow"
"""The topic of an ``mqtt_json`` record that names none."""
MQTT_POINTS: list[dict[str, Any]] = [
    {"topic": "plant/{asset}/flow", "series": "{asset}/flow"},
    {"topic": "plant/{asset}/temp", "series": "{asset}/temp", "ts_format": "epoch_s"},
    {"topic": "plant/+/power", "series": "meter-1/power", "scale": 0.001, "offset": 1.5},
]
MQTT_SPEC: dict[str, Any] = {
    "name": "fuzz-mqtt",
    "kind": "mqtt",
    "prefix": "plant/utilities/line1",
    "max_payload_bytes": 8192,
    "max_items": 64,
    "batch_messages": 64,
    "points": MQTT_POINTS,
}
SPARKPLUG_TOPICS = (
    "spBv1.0/line1/NBIRTH/edge-1",
    "spBv1.0/line1/DBIRTH/edge-1/pump-1",
    "spBv1.0/line1/NDATA/edge-1",
    "spBv1.0/line1/DDATA/edge-1/pump-1",
    "spBv1.0/line1/NDEATH/edge-1",
    "spBv1.0/line1/DDEATH/edge-1/pump-1",
    "spBv1.0/line1/DBIRTH/edge-1/pump-2",
    "spBv1.0/line1/DDATA/edge-1/pump-2",
    "spBv1.0/line1/NBIRTH/edge-2",
    "spBv1.0/line1/NDATA/edge-2",
    "spBv1.0/STATE/valueloop",
    "spBv1.0/line1/NCMD/edge-1",
    "spBv1.0/line1/BOGUS/edge-1",
)
"""The topic of a ``sparkplug`` record, by its first byte modulo the number of topics."""
SPARKPLUG_SPEC: dict[str, Any] = {
    "name": "fuzz-sparkplug",
    "kind": "sparkplug",
    "prefix": "plant/utilities/line1",
    "groups": ["line1"],
    "max_payload_bytes": 4096,
    "max_items": 64,
    "batch_messages": 64,
    "rebirth_interval": 0,
    "points": [
        {"metric": "line1/edge-1/pump-1/Speed", "series": "pump-1/speed", "scale": 0.1},
        {"metric": "line1/{node}//{metric}", "series": "{node}/{metric}"},
        {"metric": "line1/+/{device}/{metric}", "series": "{device}/{metric}"},
    ],
}


def mqtt_records(data: bytes) -> list[tuple[str, bytes]]:
    """The ``(topic, payload)`` messages of an ``mqtt_json`` input."""
    messages = []
    for record in data.split(RECORD):
        topic, separator, payload = record.partition(TOPIC_END)
        if separator:
            messages.append((topic.decode("utf-8", "replace"), payload))
        else:
            messages.append((MQTT_TOPIC, record))
    return messages


def mqtt_input(messages: list[tuple[str, bytes]]) -> bytes:
    """An ``mqtt_json`` input carrying ``messages`` (the inverse of :func:`mqtt_records`)."""
    return RECORD.join(topic.encode() + TOPIC_END + payload for topic, payload in messages)


def sparkplug_records(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The ``(topic, payload)`` messages of a ``sparkplug`` input; a short last one is cut."""
    position = 0
    while position < len(data):
        topic = SPARKPLUG_TOPICS[data[position] % len(SPARKPLUG_TOPICS)]
        length = int.from_bytes(data[position + 1 : position + 3], "big")
        payload = data[position + 3 : position + 3 + length]
        position += 3 + length
        yield topic, payload


def sparkplug_input(messages: list[tuple[str, bytes]]) -> bytes:
    """A ``sparkplug`` input carrying ``messages`` (the inverse of :func:`sparkplug_records`)."""
    return b"".join(
        bytes([SPARKPLUG_TOPICS.index(topic)]) + len(payload).to_bytes(2, "big") + payload
        for topic, payload in messages
    )


def _mqtt_json() -> Callable[[bytes], None]:
    from valueloop.config import connector_specs
    from valueloop.connectors.mqtt import Message, MqttSpec
    from valueloop.connectors.mqtt.payload import decode_batch
    from valueloop.connectors.mqtt.routes import TopicRouter
    from valueloop.model.paths import SERIES_PATTERN

    (spec,) = connector_specs([MQTT_SPEC])
    series_name = re.compile(SERIES_PATTERN)
    assert isinstance(spec, MqttSpec)

    def read(data: bytes) -> None:
        received = time.time()
        messages = [
            Message(topic, payload, 1, mid, received)
            for mid, (topic, payload) in enumerate(mqtt_records(data))
        ]
        router = TopicRouter(spec.points)
        for start in range(0, len(messages), spec.batch_messages):
            decode_batch(messages[start : start + spec.batch_messages], router, spec)
        for series in router.discovered:  # named by payloads: only valid names
            if not series_name.fullmatch(series):
                raise AssertionError(f"series {series!r} read from a payload is not asset/signal")

    return read


def _sparkplug() -> Callable[[bytes], None]:
    from valueloop.config import connector_specs
    from valueloop.connectors.mqtt import Message
    from valueloop.connectors.sparkplug import SparkplugHost, SparkplugSpec
    from valueloop.connectors.sparkplug.readings import DeliveryBuilder

    (spec,) = connector_specs([SPARKPLUG_SPEC])
    assert isinstance(spec, SparkplugSpec)

    def read(data: bytes) -> None:
        host = SparkplugHost(spec)  # a new session for every input; it never connects
        received = time.time()
        messages = [
            Message(topic, payload, 1, mid, received)
            for mid, (topic, payload) in enumerate(sparkplug_records(data))
        ]
        for start in range(0, len(messages), spec.batch_messages):
            builder = DeliveryBuilder(spec.name, spec.prefix)
            for message in messages[start : start + spec.batch_messages]:
                host._handle(message, builder)  # what deliveries() does with each message
            builder.build()

    return read


def _entry_points_once() -> None:
    """Look entry points up once per process in the modules loaded so far.

    ``load_site`` asks ``importlib.metadata`` for entry points some fifteen times a file, each a
    scan of every installed distribution (30 ms here): without this, 95% of a read. The packages
    installed do not change while the fuzzer runs, so the answers are the same.
    """
    lookup = importlib.metadata.entry_points
    cached = functools.cache(lookup)
    for name, module in list(sys.modules.items()):
        if name.startswith("valueloop") and vars(module).get("entry_points") is lookup:
            module.entry_points = cached


def _site_yaml() -> Callable[[bytes], None]:
    from valueloop.analytics.catalogue import KINDS
    from valueloop.config import load_site
    from valueloop.errors import ConfigError

    _entry_points_once()
    folder = tempfile.TemporaryDirectory(prefix="valueloop-fuzz-")

    def read(data: bytes) -> None:
        path = Path(folder.name, "site.yaml")
        path.write_bytes(data)
        with contextlib.suppress(ConfigError):
            load_site(path, kinds=KINDS)

    return read


@dataclass(frozen=True)
class Target:
    """One fuzz target: its name, what it reads, and how to make the function reading an input."""

    name: str
    description: str
    refusal: str
    """What the target does with input it must refuse (anything else escaping is a crash)."""
    max_len: int
    """Largest input the fuzzer makes, bytes."""
    load: Callable[[], Callable[[bytes], None]]
    """Imports the product's modules (call it inside an instrumented import) and returns the
    function that reads one input."""


TARGETS = {
    target.name: target
    for target in (
        Target(
            "mqtt_json",
            "MQTT JSON payloads (a batch of messages) through decode_batch",
            "readings and dead letters; decode_batch raises nothing",
            16384,
            _mqtt_json,
        ),
        Target(
            "sparkplug",
            "Sparkplug B messages (births, data, deaths, STATE, commands) through one new host "
            "application session per input",
            "readings and dead letters; the host raises nothing",
            8192,
            _sparkplug,
        ),
        Target(
            "site_yaml",
            "site.yaml files through load_site: YAML, pydantic models, cross-section checks, units",
            "ConfigError naming file, line and field",
            16384,
            _site_yaml,
        ),
    )
}
"""Every target, by name, in the order of the table."""
NAMES = tuple(TARGETS)


CORPUS = Path(__file__).resolve().parent / "corpus"
"""``corpus/<target>/``: seeds (``seed-*``), inputs the fuzzer found adding coverage (``cov-*``)
and inputs that once crashed, hung or ran out of memory (``crash-*``, ``timeout-*``, ``oom-*``),
kept to be replayed."""


def corpus_files(name: str) -> list[Path]:
    """The corpus of target ``name``, sorted by file name."""
    return sorted(path for path in (CORPUS / name).iterdir() if path.is_file())
