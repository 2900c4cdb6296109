"""JSON payloads of MQTT messages to readings: payload shapes, timestamps, dead letters.

A batch of messages becomes one :class:`~valueloop.connectors.base.FieldDelivery`. Each message
is routed by its topic (:mod:`~valueloop.connectors.mqtt.routes`) and its JSON decoded: a bare
number, an object ``{"ts", "value"}``, or an array of objects or ``[ts, value]`` pairs. Arrays of
plain ``{"ts": <number>, "value": <number>}`` objects, the usual batched form, are read together
as columns by Arrow (:mod:`~valueloop.connectors.mqtt.arrays`); other shapes, and batches Arrow
refuses, item by item so that each bad item gets its reason.
Conversion to engineering units runs on the whole batch. What cannot be read becomes a dead-letter
row whose reason names the topic (and the array item): bad JSON, a value of the wrong type, a topic
no mapping matches, a timestamp outside 1970-2200.

Reading a message costs memory in proportion to its size, never its items times its size. A
payload over ``max_payload_bytes`` is refused before it is decoded, an array of more than
``max_items`` items before they are read (:mod:`~valueloop.connectors.mqtt.limits`); either keeps
only the payload's first KiB, as does JSON that cannot be decoded (too deeply nested, say). A
refused array item keeps only itself, as a one-item array of at most a KiB that ``valueloop
deadletter replay`` can read again; another refused message keeps its whole payload (a topic no
mapping matches is read again once a mapping does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.columns import EARLIEST_US, LATEST_US, build_readings, rejections
from valueloop.connectors.mqtt.arrays import (
    TS_FACTOR,
    Bulk,
    looks_like_array,
    out_of_range,
    read_arrays,
)
from valueloop.connectors.mqtt.limits import EXCERPT_BYTES, excerpt, oversized, too_many
from valueloop.connectors.mqtt.link import Message
from valueloop.connectors.mqtt.routes import Route, TopicRouter
from valueloop.connectors.mqtt.spec import MqttPointMap, MqttSpec
from valueloop.model.paths import SERIES_PATTERN

_SERIES = re.compile(SERIES_PATTERN)
_SIGNAL = re.compile(r"^[A-Za-z0-9_]+$")


def _kind(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", dict: "an object", list: "an array"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Columns:
    """Readings and rejections gathered from a batch, before conversion as columns.

    Item-by-item readings go to the lists, already checked for their time range, as are the
    array payloads read at once that go to ``bulk``.
    """

    series: list[str] = field(default_factory=list)
    ts_us: list[float] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    offset: list[float] = field(default_factory=list)
    bulk: list[Bulk] = field(default_factory=list)
    rejected_raw: list[str] = field(default_factory=list)
    rejected_reason: list[str] = field(default_factory=list)
    named: dict[str, MqttPointMap] = field(default_factory=dict)
    """Series named by the payload itself (``series`` or ``signal`` of an object)."""

    def reject(self, raw: str, reason: str) -> None:
        self.rejected_raw.append(raw)
        self.rejected_reason.append(reason)

    def add_item(self, received: float, route: Route, item: Any, in_array: bool) -> str | None:
        """Add one object or ``[ts, value]`` pair of a message received at ``received`` (epoch
        s); the reason it cannot be read, else None."""
        series = route.series
        if isinstance(item, list) and len(item) == 2 and in_array:
            ts, value = item
        elif isinstance(item, dict):
            if "value" not in item:
                return "object without 'value'"
            ts, value = item.get("ts"), item["value"]
            named = item.get("series", item.get("signal"))
            if named is not None:
                whole = "series" in item
                pattern = _SERIES if whole else _SIGNAL
                if not isinstance(named, str) or not pattern.fullmatch(named):
                    name = "series (asset/signal)" if whole else "signal"
                    return f"{named!r} is not a valid {name}"
                series = named if whole else f"{route.series.split('/', 1)[0]}/{named}"
                if series not in self.named:
                    self.named[series] = route.point.model_copy(update={"series": series})
        else:
            shape = (
                "an object with 'value' or a [ts, value] pair"
                if in_array
                else "a number, an object with 'value' or an array of them"
            )
            return f"wrong type: {_kind(item)}, expected {shape}"
        return self._add(received, route, series, ts, value)

    def _add(self, received: float, route: Route, series: str, ts: Any, value: Any) -> str | None:
        if value is not None and not _number(value):
            return f"wrong type: value is {_kind(value)}, expected a number"
        try:
            number = None if value is None else float(value)
        except OverflowError:
            return "value is too large for a float64"
        if ts is None:
            ts_us = received * 1e6
        elif _number(ts):
            try:
                ts_us = float(ts) * TS_FACTOR[route.point.ts_format]
            except OverflowError:
                return "ts is too large for a float64"
        elif isinstance(ts, str):
            try:
                instant = datetime.fromisoformat(ts)
            except ValueError:
                return f"ts {ts!r} is not ISO 8601"
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            ts_us = instant.timestamp() * 1e6
        else:
            return f"wrong type: ts is {_kind(ts)}, expected ISO 8601 text or a number"
        if not EARLIEST_US <= ts_us < LATEST_US:  # also NaN
            return out_of_range("", ts_us)
        self.series.append(series)
        self.ts_us.append(ts_us)
        self.value.append(number)
        self.scale.append(route.point.scale)
        self.offset.append(route.point.offset)
        return None


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "backslashreplace")


def _item_text(item: Any) -> str:
    """A refused array item as a one-item JSON array, at most :data:`EXCERPT_BYTES` characters."""
    try:
        text = json.dumps([item], separators=(",", ":"), ensure_ascii=False)[:EXCERPT_BYTES]
    except RecursionError:
        return f"[{_kind(item)} nested too deeply to show]"
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON) is no UTF-8: escape it
        text = json.dumps([item], separators=(",", ":"))[:EXCERPT_BYTES]
    return text


def _refuse_count(columns: _Columns, message: Message, count: int, max_items: int) -> None:
    """Dead-letter an array of ``count`` items, more than ``max_items``, without reading it."""
    reason = too_many(count, "items", max_items, len(message.payload))
    columns.reject(_text(excerpt(message.payload)), f"topic {message.topic}: {reason}")


def _decode_message(
    columns: _Columns, message: Message, route: Route | str, max_items: int
) -> None:
    """Add one message's readings (and rejections) to ``columns``, item by item."""
    if isinstance(route, str):
        columns.reject(_text(message.payload), route)
        return
    topic = f"topic {message.topic}: "
    try:
        document = json.loads(message.payload)
    except (ValueError, RecursionError) as err:
        columns.reject(_text(excerpt(message.payload)), f"{topic}bad JSON: {err}")
        return
    if not isinstance(document, list):
        item = {"value": document} if _number(document) or document is None else document
        problem = columns.add_item(message.received, route, item, False)
        if problem is not None:
            columns.reject(_text(message.payload), topic + problem)
        return
    if len(document) > max_items:
        _refuse_count(columns, message, len(document), max_items)
        return
    for position, item in enumerate(document):
        problem = columns.add_item(message.received, route, item, True)
        if problem is not None:
            columns.reject(_item_text(item), f"{topic}item {position}: {problem}")


def _read_arrays_at_once(
    columns: _Columns, messages: Sequence[Message], routes: Sequence[Route | str], max_items: int
) -> set[int]:
    """Read the routed array payloads in one pass if they all allow it; their indices."""
    chosen = [
        index
        for index, (message, route) in enumerate(zip(messages, routes, strict=True))
        if not isinstance(route, str) and looks_like_array(message.payload)
    ]
    if not chosen:
        return set()
    found = read_arrays(
        [messages[index] for index in chosen],
        [route for index in chosen if not isinstance(route := routes[index], str)],
        max_items,
    )
    if found is None:
        return set()
    columns.bulk.append(found.bulk)
    for index, count in found.crowded.items():
        _refuse_count(columns, messages[chosen[index]], count, max_items)
    for raw, reason in found.rejected:
        columns.reject(raw, reason)
    return set(chosen)


def decode_batch(messages: Sequence[Message], router: TopicRouter, spec: MqttSpec) -> FieldDelivery:
    """Decode a batch of JSON messages into readings under ``spec.prefix`` and dead letters,
    within the spec's ``max_payload_bytes`` and ``max_items``."""
    columns = _Columns()
    readable = []
    for message in messages:
        problem = oversized(message.payload, spec.max_payload_bytes)
        if problem is None:
            readable.append(message)
        else:
            columns.reject(_text(excerpt(message.payload)), f"topic {message.topic}: {problem}")
    routes = [router.route(message.topic) for message in readable]
    done = _read_arrays_at_once(columns, readable, routes, spec.max_items)
    for index, (message, route) in enumerate(zip(readable, routes, strict=True)):
        if index not in done:
            _decode_message(columns, message, route, spec.max_items)
    for named, point in columns.named.items():
        router.discovered.setdefault(named, point)
    bulk = columns.bulk
    series = columns.series + [name for part in bulk for name in part.series.tolist()]
    ts = np.concatenate([np.asarray(columns.ts_us, dtype=np.float64), *(b.ts_us for b in bulk)])
    values = pa.concat_arrays([pa.array(columns.value, pa.float64()), *(b.value for b in bulk)])
    scale = np.concatenate([np.asarray(columns.scale, np.float64), *(b.scale for b in bulk)])
    offset = np.concatenate([np.asarray(columns.offset, np.float64), *(b.offset for b in bulk)])
    built = build_readings(spec.prefix, series, ts, values, scale, offset)
    rejected = rejections(spec.name, columns.rejected_raw, columns.rejected_reason)
    return FieldDelivery(readings=built.readings, rejected=rejected)
