"""The OPC UA source: monitored items of one subscription, batched into readings.

Each mapped node becomes a monitored item with its sampling interval and, when configured, a
DataChangeFilter deadband, so the server itself holds back small changes. The notifications of a
publish cycle are gathered into one :class:`~valueloop.connectors.base.FieldDelivery`: value scaled
to engineering units, the source (or server) timestamp as ``ts``, and the OPC UA status class as
quality (Good 0, Uncertain 1, Bad 2). asyncua's watchdog reads the server state every
``watchdog_interval_s``; on a loss the source closes the session, waits with exponential backoff,
reconnects and re-creates the subscription. While the server cannot be reached, every series is
marked stale once, by a reading of quality BAD without value at the time the loss was found (see
:mod:`valueloop.connectors.outage`). A node the server refuses to monitor (unknown NodeId, wrong
attribute, a filter it does not support) is reported as a dead letter naming the node.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.attribute_ids import AttributeIds

from valueloop.connectors.backoff import Backoff
from valueloop.connectors.base import FieldDelivery, readings
from valueloop.connectors.opcua.session import (
    UA_ERRORS,
    close_client,
    describe,
    open_spec_client,
    resolve,
    safe_endpoint,
)
from valueloop.connectors.opcua.spec import OpcUaPoint, OpcUaSpec
from valueloop.connectors.outage import LinkOutage
from valueloop.connectors.spec import PointMap
from valueloop.connectors.status import ConnectorStatus, StatusTracker
from valueloop.errors import ConnectorError
from valueloop.schema import dead_letters, empty_readings

MAX_QUEUE_SIZE = 100
"""Upper bound of the server-side queue of each monitored item (samples between publishes)."""

_DEADBAND_TYPES = {"absolute": ua.DeadbandType.Absolute, "percent": ua.DeadbandType.Percent}


def quality_of(codes: np.ndarray[Any, np.dtype[np.uint32]]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Quality of OPC UA status codes: the severity bits 30-31 (Good 0, Uncertain 1, Bad 2+)."""
    severity: np.ndarray[Any, np.dtype[np.uint8]] = np.minimum(codes >> 30, 2).astype(np.uint8)
    return severity


class _Notifications:
    """Data changes received since the last delivery, as columns (asyncua's handler interface)."""

    def __init__(self, use_source_time: bool, wake: asyncio.Event) -> None:
        self._use_source_time = use_source_time
        self._wake = wake
        self.lost: str | None = None
        self.clear()

    def clear(self) -> None:
        """Forget what was gathered."""
        self.points: list[int] = []
        self.values: list[float | None] = []
        self.codes: list[int] = []
        self.stamps: list[datetime] = []
        self.bad_raw: list[str] = []
        self.bad_reasons: list[str] = []
        self.count = 0

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        """One monitored item changed: keep its point index, value, status and time."""
        self.count += 1
        value: ua.DataValue = data.monitored_item.Value
        code = value.StatusCode.value if value.StatusCode is not None else 0
        if isinstance(val, bool | int | float) or (val is None and code >> 30):
            first, second = value.SourceTimestamp, value.ServerTimestamp
            if not self._use_source_time:
                first, second = second, first
            self.points.append(data.subscription_data.client_handle - 1)
            self.values.append(None if val is None else float(val))
            self.codes.append(code)
            self.stamps.append(first or second or datetime.now(UTC))
        else:
            self.bad_raw.append(f"{node.nodeid.to_string()}={val!r}")
            self.bad_reasons.append(
                f"node {node.nodeid.to_string()} sent a {type(val).__name__}, not a number"
            )
        self._wake.set()

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        """The server ended the subscription (shutdown, timeout): the session is lost."""
        self.lost = f"subscription ended by the server: {status.Status.name}"
        self._wake.set()


class OpcUaSource:
    """A :class:`~valueloop.connectors.base.FieldSource` subscribed to an OPC UA server.

    The set-points of its spec are written by :class:`~valueloop.connectors.opcua.sink.OpcUaSink`.
    """

    spec_model: ClassVar[type[OpcUaSpec]] = OpcUaSpec

    def __init__(self, spec: OpcUaSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._series = [spec.path(point) for point in spec.points]
        self._scale = np.array([point.scale for point in spec.points], np.float64)
        self._offset = np.array([point.offset for point in spec.points], np.float64)
        self._tracker = StatusTracker(spec.name, "opcua")
        self._outage = LinkOutage(self._series)
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._client: Client | None = None

    def mappings(self) -> Sequence[tuple[str, PointMap]]:
        """Every series the source delivers, with its node mapping."""
        return list(zip(self._series, self.spec.points, strict=True))

    def status(self) -> ConnectorStatus:
        """Connected or not, last notification, rate, errors and reconnects."""
        return self._tracker.snapshot()

    async def stop(self) -> None:
        """End the subscription and the session; :meth:`deliveries` then ends."""
        self._stopping.set()
        self._wake.set()
        await self._close()
        self._tracker.disconnected()

    async def deliveries(self) -> AsyncIterator[FieldDelivery]:
        """Readings of every publish cycle until :meth:`stop`, reconnecting after a loss."""
        backoff = Backoff(self.spec.reconnect_initial_s, self.spec.reconnect_max_s, self._stopping)
        while not self._stopping.is_set():
            notifications = _Notifications(self.spec.timestamp == "source", self._wake)
            try:
                refused = await self._open(notifications)
            except ConnectorError as err:
                await self._close()
                self._tracker.disconnected(str(err))
                self._tracker.error(str(err))
                stale = self._outage.down()
                if stale is not None:
                    yield stale
                await backoff.wait()
                continue
            backoff.reset()
            self._tracker.connected()
            self._outage.up()
            if refused.num_rows:
                yield FieldDelivery(empty_readings(), refused)
            async for delivery in self._session(notifications):
                yield delivery
            await self._close()
            if not self._stopping.is_set():
                reason = notifications.lost or "connection lost"
                self._tracker.disconnected(reason)
                self._tracker.error(reason)
                stale = self._outage.down()
                if stale is not None:
                    yield stale
                await backoff.wait()
        self._tracker.disconnected()

    async def _session(self, notifications: _Notifications) -> AsyncIterator[FieldDelivery]:
        """Deliveries of one session, until it is lost or the source stops."""
        while not self._stopping.is_set() and notifications.lost is None:
            await self._wake.wait()
            self._wake.clear()
            delivery = self._drain(notifications)
            if delivery is not None:
                yield delivery

    def _drain(self, notifications: _Notifications) -> FieldDelivery | None:
        """The gathered notifications as one delivery (None if there were none)."""
        if not notifications.count:
            return None
        index = np.array(notifications.points, np.int64)
        raw = np.array(
            [math.nan if value is None else value for value in notifications.values], np.float64
        )
        value = pa.array(raw * self._scale[index] + self._offset[index], from_pandas=True)
        table = readings(
            [self._series[i] for i in notifications.points],
            pa.array(notifications.stamps, pa.timestamp("us", tz="UTC")),
            value,
            pa.array(quality_of(np.array(notifications.codes, np.uint32))),
        )
        rejected = dead_letters(
            self.name, pa.array(notifications.bad_raw), pa.array(notifications.bad_reasons)
        )
        if rejected.num_rows:
            self._tracker.error(notifications.bad_reasons[-1], rejected.num_rows)
        self._tracker.received(table.num_rows, notifications.count)
        notifications.clear()
        return FieldDelivery(table, rejected)

    async def _open(self, notifications: _Notifications) -> pa.Table:
        """Connect, subscribe every point; return dead letters of the nodes the server refused."""
        spec = self.spec
        client = await open_spec_client(spec)
        self._client = client

        async def lost(err: Exception) -> None:
            notifications.lost = f"OPC UA server {safe_endpoint(spec.endpoint)} lost: {err!r}"
            self._wake.set()

        client.connection_lost_callback = lost
        refused_raw: list[str] = []
        refused_reasons: list[str] = []
        requests: list[ua.MonitoredItemCreateRequest] = []
        points: list[int] = []
        for index, point in enumerate(spec.points):
            try:
                node = await resolve(client, point.node)
            except ConnectorError as err:
                refused_raw.append(point.node)
                refused_reasons.append(f"{self._series[index]}: {err}")
                continue
            requests.append(self._request(index, node, point))
            points.append(index)
        try:
            subscription = await client.create_subscription(
                spec.publishing_interval_ms, notifications
            )
            results = await subscription.create_monitored_items(requests) if requests else []
        except UA_ERRORS as err:
            raise ConnectorError(
                f"OPC UA server {safe_endpoint(spec.endpoint)} refused the subscription: "
                f"{describe(err)}"
            ) from err
        for index, result in zip(points, results, strict=True):
            if isinstance(result, ua.StatusCode):
                refused_raw.append(spec.points[index].node)
                refused_reasons.append(
                    f"server refused to monitor node {spec.points[index].node} for "
                    f"{self._series[index]}: {result.name}"
                )
        if refused_reasons:
            self._tracker.error(refused_reasons[-1], len(refused_reasons))
        return dead_letters(self.name, pa.array(refused_raw), pa.array(refused_reasons))

    def _request(self, index: int, node: Node, point: OpcUaPoint) -> ua.MonitoredItemCreateRequest:
        """The monitored item of ``point``; its client handle is its index + 1."""
        sampling = point.sampling_interval_ms
        if sampling is None:
            sampling = self.spec.sampling_interval_ms
        params = ua.MonitoringParameters()
        params.ClientHandle = index + 1
        params.SamplingInterval = sampling
        params.QueueSize = min(
            MAX_QUEUE_SIZE, max(1, math.ceil(self.spec.publishing_interval_ms / max(sampling, 1)))
        )
        params.DiscardOldest = True
        if point.deadband > 0:
            deadband = ua.DataChangeFilter()
            deadband.Trigger = ua.DataChangeTrigger.StatusValue
            deadband.DeadbandType = _DEADBAND_TYPES[point.deadband_type]
            deadband.DeadbandValue = point.deadband
            params.Filter = deadband
        item = ua.ReadValueId()
        item.NodeId = node.nodeid
        item.AttributeId = AttributeIds.Value
        request = ua.MonitoredItemCreateRequest()
        request.ItemToMonitor = item
        request.MonitoringMode = ua.MonitoringMode.Reporting
        request.RequestedParameters = params
        return request

    async def _close(self) -> None:
        """Close the session if one is open."""
        client, self._client = self._client, None
        if client is not None:
            client.connection_lost_callback = None
            await close_client(client, self.spec.timeout_s)
