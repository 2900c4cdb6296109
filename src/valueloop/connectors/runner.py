"""Running field sources: each a task of one background event loop, each delivery handed on.

:class:`SourceRunner` drives the deliveries of every source and hands each, in order, to a
``handle(source_name, delivery)`` callable (the central ingest, or the edge's outbox). A delivery is
handed on before the source is asked for the next one, so a source that acknowledges its peer after
a delivery was taken (MQTT at QoS 1) acknowledges only what was kept. When ``handle`` fails, the
same delivery is retried with backoff until it succeeds: the source waits, nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from valueloop.connectors.base import FieldDelivery, FieldSource, connector_class
from valueloop.connectors.spec import ConnectorSpec, FieldConnectorSpec
from valueloop.connectors.status import ConnectorStatus
from valueloop.errors import ConfigError

if TYPE_CHECKING:
    from valueloop.connectors.sparkplug.births import BirthBook

log = logging.getLogger(__name__)

RETRY_MIN_S = 0.5
RETRY_MAX_S = 30.0

Handler = Callable[[str, FieldDelivery], object]
"""Takes a source's name and one of its deliveries; raises if it could not keep it."""


def build_sources(
    specs: Sequence[ConnectorSpec], *, births: BirthBook | None = None
) -> list[FieldSource]:
    """The field sources configured by ``specs`` (other kinds, such as replay, are left out).

    Sources that keep birth certificates (Sparkplug hosts) keep them in ``births`` when given.
    """
    sources: list[FieldSource] = []
    for spec in specs:
        if not isinstance(spec, FieldConnectorSpec):
            continue
        factory = connector_class(spec.kind)
        source = factory(spec)
        if not hasattr(source, "deliveries") or not hasattr(source, "status"):
            raise ConfigError(f"connector kind {spec.kind!r} is not a field source")
        keep_births = getattr(source, "keep_births", None)  # a Sparkplug host
        if births is not None and callable(keep_births):
            keep_births(births)
        sources.append(source)
    return sources


class SourceRunner:
    """Run field sources on a background thread until :meth:`stop`."""

    def __init__(self, sources: Sequence[FieldSource], handle: Handler) -> None:
        self.sources = list(sources)
        self._handle = handle
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping = False

    def statuses(self) -> list[ConnectorStatus]:
        """The status of every source, in configuration order."""
        return [source.status() for source in self.sources]

    def start(self) -> None:
        """Start every source on a background thread."""
        self._thread = threading.Thread(target=self._run, name="field-sources", daemon=True)
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._started.set()
        try:
            loop.run_until_complete(self._pump_all())
        finally:
            loop.close()

    async def _pump_all(self) -> None:
        await asyncio.gather(*(self._pump(source) for source in self.sources))

    async def _pump(self, source: FieldSource) -> None:
        async for delivery in source.deliveries():
            await self._keep(source.name, delivery)

    async def _keep(self, name: str, delivery: FieldDelivery) -> None:
        delay = RETRY_MIN_S
        while True:
            try:
                await asyncio.to_thread(self._handle, name, delivery)
                return
            except Exception as err:  # the delivery is kept by retrying, whatever went wrong
                if self._stopping:
                    raise
                log.warning(
                    "%s: could not keep a delivery (%s); retrying in %.1f s", name, err, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every source and wait for the thread to end."""
        self._stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():

            async def stop_all() -> None:
                await asyncio.gather(*(source.stop() for source in self.sources))

            try:
                asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout)
            except (TimeoutError, RuntimeError) as err:
                log.warning("field sources did not stop cleanly: %s", err)
        if self._thread is not None:
            self._thread.join(timeout)
