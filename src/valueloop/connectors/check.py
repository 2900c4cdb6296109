"""The contract every field connector is held to, checked against its real peer.

:func:`check_connector` runs a connector against a live peer (a broker, a server, a device
simulator), has the peer produce known values, and returns the breaches of the contract: readings
in :data:`~valueloop.schema.READING_SCHEMA` naming only mapped series, with UTC timestamps in range;
rejected inputs with a reason; every expected value delivered; a status that says connected and
counts what arrived; and a clean stop.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pyarrow as pa

from valueloop.connectors.base import FieldDelivery, FieldSource
from valueloop.connectors.spec import ConnectorSpec
from valueloop.schema import DEAD_LETTER_SCHEMA, READING_SCHEMA

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _delivery_breaches(delivery: FieldDelivery, mapped: set[str]) -> list[str]:
    breaches: list[str] = []
    readings = delivery.readings
    if not readings.schema.equals(READING_SCHEMA):
        breaches.append(f"readings schema {readings.schema} is not READING_SCHEMA")
        return breaches
    unmapped = sorted(set(readings.column("series").to_pylist()) - mapped)
    if unmapped:
        breaches.append(f"readings of unmapped series: {', '.join(unmapped[:5])}")
    for ts in readings.column("ts").to_pylist():
        if not EARLIEST <= ts < LATEST:
            breaches.append(f"timestamp {ts} outside 1970-2200")
            break
    rejected = delivery.rejected
    if not rejected.schema.equals(DEAD_LETTER_SCHEMA):
        breaches.append(f"rejected schema {rejected.schema} is not DEAD_LETTER_SCHEMA")
    elif any(not reason for reason in rejected.column("reason").to_pylist()):
        breaches.append("a rejected input has no reason")
    return breaches


def _missing(expected: pa.Table, seen: dict[str, list[float]]) -> list[tuple[str, float]]:
    missing = []
    for series, value in zip(
        expected.column("series").to_pylist(), expected.column("value").to_pylist(), strict=True
    ):
        values = seen.get(series, [])
        if not any(math.isclose(value, got, rel_tol=1e-6, abs_tol=1e-9) for got in values):
            missing.append((series, value))
    return missing


async def check_connector(
    connector: FieldSource,
    expected: pa.Table,
    produce: Callable[[], Awaitable[None]],
    *,
    timeout: float = 20.0,
) -> list[str]:
    """Check ``connector`` against its live peer; return the breaches (empty when it holds).

    ``expected`` has ``series`` (full path) and ``value`` columns: the readings the peer will
    produce when ``produce`` is awaited, which happens once the connector reports connected. The
    check consumes deliveries until every expected reading arrived or ``timeout`` seconds passed,
    then stops the connector.
    """
    breaches: list[str] = []
    if not (
        isinstance(connector.spec_model, type) and issubclass(connector.spec_model, ConnectorSpec)
    ):
        breaches.append("spec_model is not a ConnectorSpec subclass")
    mapped = {path for path, _ in connector.mappings()}
    seen: dict[str, list[float]] = {}
    delivered = 0

    async def consume() -> None:
        nonlocal delivered
        async for delivery in connector.deliveries():
            breaches.extend(_delivery_breaches(delivery, mapped))
            readings = delivery.readings
            delivered += readings.num_rows
            for series, value in zip(
                readings.column("series").to_pylist(),
                readings.column("value").to_pylist(),
                strict=True,
            ):
                seen.setdefault(series, []).append(value)
            if not _missing(expected, seen):
                return

    async def drive() -> None:
        while not connector.status().connected:
            await asyncio.sleep(0.05)
        await produce()

    consumer = asyncio.ensure_future(consume())
    driver = asyncio.ensure_future(drive())
    try:
        await asyncio.wait_for(asyncio.shield(consumer), timeout)
    except TimeoutError:
        missing = _missing(expected, seen)
        breaches.append(
            f"{len(missing)} expected readings not delivered within {timeout} s, e.g. {missing[:3]}"
        )
    status = connector.status()
    if delivered and (status.points < delivered or status.last_message_at is None):
        breaches.append(
            f"status counts {status.points} points, {delivered} were delivered; "
            f"last message at {status.last_message_at}"
        )
    if status.name != connector.name:
        breaches.append(f"status names {status.name!r}, the connector is {connector.name!r}")
    driver.cancel()
    await connector.stop()
    try:
        await asyncio.wait_for(consumer, timeout)
    except TimeoutError:
        breaches.append(f"deliveries did not end within {timeout} s of stop()")
    if connector.status().connected:
        breaches.append("status still says connected after stop()")
    return breaches
