"""From Sparkplug metrics to readings: routing metric addresses to series, gathering a delivery."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.columns import build_readings, rejections
from valueloop.connectors.mqtt.limits import excerpt
from valueloop.connectors.mqtt.link import Message
from valueloop.connectors.sparkplug.nodes import MetricInfo
from valueloop.connectors.sparkplug.spec import SparkplugMetricMap
from valueloop.connectors.templates import fill_series


@dataclass(frozen=True)
class MetricRoute:
    """Where a metric's values go: its mapping and the ``asset/signal`` it names."""

    point: SparkplugMetricMap
    series: str


class MetricRouter:
    """Routes ``(group, edge_node, device, metric)`` to the first matching mapping, remembered."""

    def __init__(self, points: Sequence[SparkplugMetricMap]) -> None:
        self._templates = [(point, point.template) for point in points]
        self._cache: dict[tuple[str, str, str, str], MetricRoute | None] = {}
        self.discovered: dict[str, SparkplugMetricMap] = {}
        """Series of templated mappings named by births so far, by ``asset/signal``."""

    def route(self, address: tuple[str, str, str, str], info: MetricInfo) -> MetricRoute | None:
        """The route of a metric, None if no mapping reads it (or its series is not valid)."""
        if address in self._cache:
            return self._cache[address]
        found = None
        for point, template in self._templates:
            captures = template.match(address)
            if captures is None:
                continue
            try:
                series = fill_series(point.series, captures)
            except ValueError:
                break
            found = MetricRoute(point, series)
            if not point.concrete:
                unit = point.unit or info.unit
                self.discovered.setdefault(
                    series, point.model_copy(update={"series": series, "unit": unit})
                )
            break
        self._cache[address] = found
        return found


@dataclass(frozen=True)
class MetricReader:
    """How to read one born metric: where it goes, and the span of its two's complement."""

    route: MetricRoute
    wrap: int
    """2**32 for Int8/16/32, 2**64 for Int64 (sent unsigned), 0 for other datatypes."""


@dataclass
class DeliveryBuilder:
    """Readings and rejected messages gathered from one batch of Sparkplug messages."""

    source: str
    prefix: str
    routes: list[MetricRoute] = field(default_factory=list)
    ts_ms: list[float] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def add(self, route: MetricRoute, ts_ms: float, value: float | None, quality: int) -> None:
        """One reading of ``route``'s series at ``ts_ms`` (ms since 1970)."""
        self.routes.append(route)
        self.ts_ms.append(ts_ms)
        self.value.append(value)
        self.quality.append(quality)

    def reject(self, message: Message, reason: str, *, whole: bool = True) -> None:
        """Dead-letter ``message``: its payload (only its first KiB unless ``whole``, for a
        payload refused for its size) as base64 text, the reason naming the topic."""
        kept = message.payload if whole else excerpt(message.payload)
        self.raw.append(base64.b64encode(kept).decode("ascii"))
        self.reason.append(f"topic {message.topic}: {reason} (raw payload in base64)")

    def build(self) -> FieldDelivery:
        """The delivery: readings in range; the rest and rejected messages dead-lettered."""
        ts = np.asarray(self.ts_ms, dtype=np.float64) * 1e3
        series = [route.series for route in self.routes]
        built = build_readings(
            self.prefix,
            series,
            ts,
            pa.array(self.value, pa.float64()),
            np.array([route.point.scale for route in self.routes], dtype=np.float64),
            np.array([route.point.offset for route in self.routes], dtype=np.float64),
            self.quality,
        )
        for index in built.out_of_range:
            self.raw.append(f'{{"series": "{series[index]}", "ts_ms": {ts[index] / 1e3:.0f}}}')
            self.reason.append(f"metric timestamp {ts[index] / 1e3:.0f} ms is outside 1970-2200")
        return FieldDelivery(
            readings=built.readings, rejected=rejections(self.source, self.raw, self.reason)
        )
