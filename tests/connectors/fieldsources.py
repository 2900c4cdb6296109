"""Driving a field source in a test: wait until it is connected, gather its deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import pyarrow as pa

from valueloop.connectors.base import FieldDelivery, FieldSource
from valueloop.schema import DEAD_LETTER_SCHEMA, READING_SCHEMA


async def wait_connected(source: FieldSource, timeout: float = 10.0) -> None:
    """Return once ``source`` says connected; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not source.status().connected:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{source.name} not connected after {timeout} s: {source.status()}"
            )
        await asyncio.sleep(0.02)


class Gathered:
    """Deliveries a source produced, with their readings and rejections concatenated."""

    def __init__(self) -> None:
        self.deliveries: list[FieldDelivery] = []

    @property
    def readings(self) -> pa.Table:
        """Every reading delivered so far."""
        tables = [d.readings for d in self.deliveries]
        return pa.concat_tables(tables) if tables else READING_SCHEMA.empty_table()

    @property
    def rejected(self) -> pa.Table:
        """Every rejected input delivered so far."""
        tables = [d.rejected for d in self.deliveries]
        return pa.concat_tables(tables) if tables else DEAD_LETTER_SCHEMA.empty_table()


async def gather_until(
    source: FieldSource,
    done: Callable[[Gathered], bool],
    *,
    timeout: float = 10.0,
    gathered: Gathered | None = None,
) -> Gathered:
    """Consume ``source`` until ``done(gathered)`` or ``timeout`` seconds; the source keeps running.

    The deliveries iterator is closed when done, so the last delivery is not acknowledged.
    """
    gathered = gathered if gathered is not None else Gathered()

    async def consume() -> None:
        async for delivery in source.deliveries():
            gathered.deliveries.append(delivery)
            if done(gathered):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(consume(), timeout)
    return gathered


async def until(condition: Callable[[], bool], timeout: float) -> None:
    """Return once ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def consume_in_background(
    source: FieldSource,
) -> tuple[list[FieldDelivery], asyncio.Future[None]]:
    """Start gathering every delivery of ``source`` into a list; the task ends with the source."""
    deliveries: list[FieldDelivery] = []

    async def consume() -> None:
        async for delivery in source.deliveries():
            deliveries.append(delivery)

    return deliveries, asyncio.ensure_future(consume())
