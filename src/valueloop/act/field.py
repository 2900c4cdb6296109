"""The site's set-points in the field: every connector's sink, found by series path.

Connectors that can write (OPC UA, Modbus TCP, MQTT, Sparkplug B) map their set-points under
``setpoints:``; :meth:`Field.of_connectors` builds a sink per connector from the same spec that
reads, and routes each write and read to the sink whose targets hold the series.
"""

from __future__ import annotations

from collections.abc import Sequence

from valueloop.connectors.base import ReadBack, SetpointWrite, Sink, WriteResult, sink_for
from valueloop.connectors.readback import read_until
from valueloop.connectors.spec import ConnectorSpec


class Field:
    """Sinks by the series paths of the set-points they write."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)
        self._by_series = {series: sink for sink in self.sinks for series in sink.targets()}

    @classmethod
    def of_connectors(cls, specs: Sequence[ConnectorSpec]) -> Field:
        """The sinks of every connector spec that maps set-points."""
        sinks = [sink for sink in (sink_for(spec) for spec in specs) if sink is not None]
        return cls([sink for sink in sinks if sink.targets()])

    def knows(self, series: str) -> bool:
        """Whether a connector writes the set-point ``series``."""
        return series in self._by_series

    def _sink(self, series: str) -> Sink | None:
        return self._by_series.get(series)

    async def read(self, series: str) -> ReadBack:
        """The value the set-point holds now, as its connector reads it."""
        sink = self._sink(series)
        if sink is None:
            return ReadBack(series, None, f"no connector maps the set-point {series}")
        (answer,) = await sink.read([series])
        return answer

    async def write(self, write: SetpointWrite) -> WriteResult:
        """Write one set-point through its connector."""
        sink = self._sink(write.series)
        if sink is None:
            return WriteResult(
                write.reference, False, f"no connector maps the set-point {write.series}"
            )
        (result,) = await sink.write([write])
        return result

    async def read_until(
        self, series: str, value: float, *, tolerance: float, timeout: float
    ) -> float | None:
        """Read ``series`` back until it holds ``value`` within ``tolerance`` (or the timeout)."""
        sink = self._sink(series)
        if sink is None:
            return None
        return await read_until(sink, series, value, tolerance=tolerance, timeout=timeout)

    async def close(self) -> None:
        """Close every sink."""
        for sink in self.sinks:
            await sink.close()
