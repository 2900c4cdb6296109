"""The Modbus TCP source: coalesced register reads at a fixed rate, decoded in one pass.

Each poll sends the planned reads (see :func:`~valueloop.connectors.modbus.registers.plan_reads`)
in turn, concatenates the registers and decodes every point at once. A read the device answers
with an exception response gives BAD readings (null value, quality 2) for its points and counts
an error; when it served several points it is split into one read per point from the next poll
on, so one unmapped register no longer spoils its neighbours. A lost connection is re-opened
with exponential backoff; while it is down, every series is marked stale once, by a reading of
quality BAD without value at the time the loss was found (see :mod:`valueloop.connectors.outage`).
:attr:`ModbusSource.reads` counts the read requests sent, which are also the ``messages`` of the
status.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
import pyarrow as pa
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU

from valueloop.connectors.backoff import Backoff
from valueloop.connectors.base import FieldDelivery, readings
from valueloop.connectors.modbus.link import LINK_ERRORS, exception_response, tcp_client
from valueloop.connectors.modbus.registers import Read, RegisterLayout, plan_reads
from valueloop.connectors.modbus.spec import REGISTER_WIDTH, ModbusSpec
from valueloop.connectors.outage import LinkOutage
from valueloop.connectors.spec import PointMap
from valueloop.connectors.status import ConnectorStatus, StatusTracker
from valueloop.schema import Quality


def _problem(answer: ModbusPDU, read: Read) -> str | None:
    """What is wrong with the device's answer to ``read``; None if it holds the registers."""
    where = f"{read.table} registers {read.address}-{read.address + read.count - 1}"
    if answer.isError():
        return f"{exception_response(answer)} to a read of {where}"
    if len(answer.registers) < read.count:
        return f"short answer to a read of {where}: {len(answer.registers)} registers"
    return None


class _LinkLost(Exception):
    """The TCP link to the device failed during a poll."""


class ModbusSource:
    """A :class:`~valueloop.connectors.base.FieldSource` polling a Modbus TCP device.

    Attributes:
        plan: the reads of one poll, in the order they are sent.
        reads: read requests sent since start.
    """

    spec_model: ClassVar[type[ModbusSpec]] = ModbusSpec

    def __init__(self, spec: ModbusSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.reads = 0
        self._series = [spec.path(point) for point in spec.points]
        self._plan(plan_reads(spec.points, max_registers=spec.max_registers, max_gap=spec.max_gap))
        self._tracker = StatusTracker(spec.name, "modbus")
        self._outage = LinkOutage(self._series)
        self._stopping = asyncio.Event()
        self._client: AsyncModbusTcpClient | None = None

    def _plan(self, reads: list[Read]) -> None:
        self.plan = reads
        self._layout = RegisterLayout(self.spec, reads)
        self._ordered_series = [self._series[i] for i in self._layout.order]

    def mappings(self) -> Sequence[tuple[str, PointMap]]:
        """Every series the source delivers, with its register mapping."""
        return list(zip(self._series, self.spec.points, strict=True))

    def status(self) -> ConnectorStatus:
        """Connected or not, last poll, rate, errors and reconnects."""
        return self._tracker.snapshot()

    async def stop(self) -> None:
        """Stop polling and close the connection; :meth:`deliveries` then ends."""
        self._stopping.set()
        self._close()
        self._tracker.disconnected()

    async def deliveries(self) -> AsyncIterator[FieldDelivery]:
        """One delivery per poll until :meth:`stop`, reconnecting after a loss."""
        spec = self.spec
        backoff = Backoff(spec.reconnect_initial_s, spec.reconnect_max_s, self._stopping)
        while not self._stopping.is_set():
            client = tcp_client(spec)
            self._client = client
            if not await client.connect():
                self._lost(f"cannot connect to Modbus device {spec.host}:{spec.port}")
                stale = self._outage.down()
                if stale is not None:
                    yield stale
                await backoff.wait()
                continue
            backoff.reset()
            self._tracker.connected()
            self._outage.up()
            while not self._stopping.is_set():
                began = time.monotonic()
                try:
                    delivery = await self._poll(client)
                except _LinkLost as err:
                    if not self._stopping.is_set():
                        self._lost(str(err))
                        stale = self._outage.down()
                        if stale is not None:
                            yield stale
                        await backoff.wait()
                    break
                yield delivery
                with contextlib.suppress(TimeoutError):
                    wait = spec.poll_interval_s - (time.monotonic() - began)
                    await asyncio.wait_for(self._stopping.wait(), max(wait, 0.0))
        self._close()
        self._tracker.disconnected()

    def _lost(self, reason: str) -> None:
        self._close()
        self._tracker.disconnected(reason)
        self._tracker.error(reason)

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _poll(self, client: AsyncModbusTcpClient) -> FieldDelivery:
        """Send every planned read; decode the registers of all points at once."""
        registers = np.zeros(self._layout.total, np.uint16)
        good = np.ones(len(self._layout.order), np.bool_)
        stamps: list[datetime] = []
        refused: list[Read] = []
        base = 0
        for read in self.plan:
            reader = (
                client.read_holding_registers
                if read.table == "holding"
                else client.read_input_registers
            )
            try:
                answer = await reader(read.address, count=read.count, device_id=self.spec.unit_id)
            except LINK_ERRORS as err:
                raise _LinkLost(
                    f"Modbus device {self.spec.host}:{self.spec.port} did not answer a read of "
                    f"{read.table} registers {read.address}-{read.address + read.count - 1}: {err}"
                ) from err
            self.reads += 1
            stamps.extend([datetime.now(UTC)] * len(read.points))
            span = slice(len(stamps) - len(read.points), len(stamps))
            problem = _problem(answer, read)
            if problem is not None:
                good[span] = False
                refused.append(read)
                self._tracker.error(problem)
            else:
                registers[base : base + read.count] = answer.registers[: read.count]
            base += read.count
        values = self._layout.decode(registers)
        good &= np.isfinite(values)
        quality = np.where(good, Quality.GOOD, Quality.BAD).astype(np.uint8)
        table = readings(
            self._ordered_series,
            pa.array(stamps, pa.timestamp("us", tz="UTC")),
            pa.array(values, mask=~good),
            pa.array(quality),
        )
        self._tracker.received(table.num_rows, len(self.plan))
        if any(len(read.points) > 1 for read in refused):
            self._split(refused)
        return FieldDelivery(table)

    def _split(self, refused: list[Read]) -> None:
        """Replace each refused read of several points by one read per point."""
        points = self.spec.points
        reads: list[Read] = []
        for read in self.plan:
            if read in refused and len(read.points) > 1:
                reads.extend(
                    Read(read.table, points[i].address, REGISTER_WIDTH[points[i].data_type], (i,))
                    for i in read.points
                )
            else:
                reads.append(read)
        self._plan(reads)
