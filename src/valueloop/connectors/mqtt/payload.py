"""JSON payloads of MQTT messages to readings: payload shapes, timestamps, dead letters.

A batch of messages becomes one :class:`~valueloop.connectors.base.FieldDelivery`. Each message
is routed by its topic (:mod:`~valueloop.connectors.mqtt.routes`) and its JSON decoded: a bare
number, an object ``{"ts", "value"}``, or an array of objects or ``[ts, value]`` pairs. Arrays of
plain ``{"ts": <number>, "value": <number>}`` objects, the usual batched form, are read together
as columns by Arrow (:mod:`~valueloop.connectors.mqtt.arrays`); other shapes, and batches Arrow
refuses, item by item so that each bad item gets its reason.
Conversion to engineering units and the time range check run on the whole batch. What cannot be
read becomes a dead-letter row whose reason names the topic (and the array item): bad JSON, a value
of the wrong type, a topic no mapping matches, a timestamp outside 1970-2200.
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
from valueloop.connectors.columns import build_readings, rejections
from valueloop.connectors.mqtt.arrays import (
    TS_FACTOR,
    Bulk,
    looks_like_array,
    out_of_range,
    read_arrays,
)
from valueloop.connectors.mqtt.link import Message
from valueloop.connectors.mqtt.routes import Route, TopicRouter
from valueloop.connectors.mqtt.spec import MqttPointMap
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

    Item-by-item readings go to the lists, with each one's origin for a later time range
    rejection; array payloads read at once go to ``bulk``, already checked for their time range.
    """

    series: list[str] = field(default_factory=list)
    ts_us: list[float] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    offset: list[float] = field(default_factory=list)
    origin: list[tuple[str, str]] = field(default_factory=list)
    bulk: list[Bulk] = field(default_factory=list)
    rejected_raw: list[str] = field(default_factory=list)
    rejected_reason: list[str] = field(default_factory=list)
    named: dict[str, MqttPointMap] = field(default_factory=dict)
    """Series named by the payload itself (``series`` or ``signal`` of an object)."""

    def reject(self, raw: str, reason: str) -> None:
        self.rejected_raw.append(raw)
        self.rejected_reason.append(reason)

    def add_item(self, message: Message, route: Route, item: Any, where: str) -> str | None:
        """Add one object or ``[ts, value]`` pair; the reason it cannot be read, else None."""
        series = route.series
        if isinstance(item, list) and len(item) == 2 and where:
            ts, value = item
        elif isinstance(item, dict):
            if "value" not in item:
                return f"{where}object without 'value'"
            ts, value = item.get("ts"), item["value"]
            named = item.get("series", item.get("signal"))
            if named is not None:
                whole = "series" in item
                if not isinstance(named, str) or not (_SERIES if whole else _SIGNAL).match(named):
                    name = "series (asset/signal)" if whole else "signal"
                    return f"{where}{named!r} is not a valid {name}"
                series = named if whole else f"{route.series.split('/', 1)[0]}/{named}"
                if series not in self.named:
                    self.named[series] = route.point.model_copy(update={"series": series})
        else:
            shape = (
                "an object with 'value' or a [ts, value] pair"
                if where
                else "a number, an object with 'value' or an array of them"
            )
            return f"{where}wrong type: {_kind(item)}, expected {shape}"
        return self._add(message, route, series, ts, value, where)

    def _add(
        self, message: Message, route: Route, series: str, ts: Any, value: Any, where: str
    ) -> str | None:
        if value is not None and not _number(value):
            return f"{where}wrong type: value is {_kind(value)}, expected a number"
        try:
            number = None if value is None else float(value)
        except OverflowError:
            return f"{where}value is too large for a float64"
        if ts is None:
            ts_us = message.received * 1e6
        elif _number(ts):
            try:
                ts_us = float(ts) * TS_FACTOR[route.point.ts_format]
            except OverflowError:
                return f"{where}ts is too large for a float64"
        elif isinstance(ts, str):
            try:
                instant = datetime.fromisoformat(ts)
            except ValueError:
                return f"{where}ts {ts!r} is not ISO 8601"
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            ts_us = instant.timestamp() * 1e6
        else:
            return f"{where}wrong type: ts is {_kind(ts)}, expected ISO 8601 text or a number"
        self.series.append(series)
        self.ts_us.append(ts_us)
        self.value.append(number)
        self.scale.append(route.point.scale)
        self.offset.append(route.point.offset)
        self.origin.append((f"topic {message.topic}: {where}", _text(message.payload)))
        return None


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "backslashreplace")


def _decode_message(columns: _Columns, message: Message, route: Route | str) -> None:
    """Add one message's readings (and rejections) to ``columns``, item by item."""
    if isinstance(route, str):
        columns.reject(_text(message.payload), route)
        return
    try:
        document = json.loads(message.payload)
    except (ValueError, RecursionError) as err:
        columns.reject(_text(message.payload), f"topic {message.topic}: bad JSON: {err}")
        return
    if _number(document) or document is None:
        items: list[tuple[Any, str]] = [({"value": document}, "")]
    elif isinstance(document, list):
        items = [(item, f"item {position}: ") for position, item in enumerate(document)]
    else:
        items = [(document, "")]
    for item, where in items:
        problem = columns.add_item(message, route, item, where)
        if problem is not None:
            columns.reject(_text(message.payload), f"topic {message.topic}: {problem}")


def _read_arrays_at_once(
    columns: _Columns, messages: Sequence[Message], routes: Sequence[Route | str]
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
    )
    if found is None:
        return set()
    columns.bulk.append(found.bulk)
    for raw, reason in found.rejected:
        columns.reject(raw, reason)
    return set(chosen)


def decode_batch(
    messages: Sequence[Message], router: TopicRouter, prefix: str, source: str
) -> FieldDelivery:
    """Decode a batch of JSON messages into readings under ``prefix`` and dead letters."""
    columns = _Columns()
    routes = [router.route(message.topic) for message in messages]
    done = _read_arrays_at_once(columns, messages, routes)
    for index, (message, route) in enumerate(zip(messages, routes, strict=True)):
        if index not in done:
            _decode_message(columns, message, route)
    for named, point in columns.named.items():
        router.discovered.setdefault(named, point)
    bulk = columns.bulk
    series = columns.series + [name for part in bulk for name in part.series.tolist()]
    ts = np.concatenate([np.asarray(columns.ts_us, dtype=np.float64), *(b.ts_us for b in bulk)])
    values = pa.concat_arrays([pa.array(columns.value, pa.float64()), *(b.value for b in bulk)])
    scale = np.concatenate([np.asarray(columns.scale, np.float64), *(b.scale for b in bulk)])
    offset = np.concatenate([np.asarray(columns.offset, np.float64), *(b.offset for b in bulk)])
    built = build_readings(prefix, series, ts, values, scale, offset)
    for index in built.out_of_range:  # only item-by-item rows: bulk rows were checked
        origin, raw = columns.origin[index]
        columns.reject(raw, out_of_range(origin, ts[index]))
    rejected = rejections(source, columns.rejected_raw, columns.rejected_reason)
    return FieldDelivery(readings=built.readings, rejected=rejected)
