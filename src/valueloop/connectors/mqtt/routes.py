"""Topics to series: the first point mapping whose topic template matches, remembered per topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from valueloop.connectors.mqtt.spec import MqttPointMap
from valueloop.connectors.templates import fill_series

ROUTE_CACHE_LIMIT = 100_000
"""Distinct topics whose route is remembered; the cache starts afresh beyond."""


@dataclass(frozen=True)
class Route:
    """Where a topic's readings go: its mapping and the ``asset/signal`` it names."""

    point: MqttPointMap
    series: str


class TopicRouter:
    """Routes topics to the first matching mapping, remembering each topic's route."""

    def __init__(self, points: Sequence[MqttPointMap]) -> None:
        self.points = list(points)
        self._templates = [(point, point.template) for point in self.points]
        self._cache: dict[str, Route | str] = {}
        self.discovered: dict[str, MqttPointMap] = {}
        """Series named by templated mappings so far, by ``asset/signal``."""

    def route(self, topic: str) -> Route | str:
        """The route of ``topic``, or the reason it has none."""
        known = self._cache.get(topic)
        if known is not None:
            return known
        if len(self._cache) >= ROUTE_CACHE_LIMIT:
            self._cache.clear()
        found = self._find(topic)
        self._cache[topic] = found
        return found

    def _find(self, topic: str) -> Route | str:
        levels = topic.split("/")
        for point, template in self._templates:
            captures = template.match(levels)
            if captures is None:
                continue
            try:
                series = fill_series(point.series, captures)
            except ValueError as err:
                return f"topic {topic}: mapping {point.topic!r} {err}"
            if not point.concrete:
                self.discovered.setdefault(series, point.model_copy(update={"series": series}))
            return Route(point, series)
        return f"unknown topic {topic}: no point mapping matches it"
