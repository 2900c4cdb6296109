"""Series of a polled or subscribed device marked stale while its link is down.

When the link to a device (an OPC UA server, a Modbus device) is lost, or cannot be opened, the
source delivers one reading per series of quality BAD and no value, stamped when the loss was
found, as PI interfaces write an ``I/O Timeout`` state and Ignition turns its tags' quality bad
once per outage. Nothing more is written while the link stays down: the series stays stale until
its next good reading after the reconnect (see :class:`~valueloop.alarms.StaleAlarm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa

from valueloop.connectors.base import FieldDelivery, readings
from valueloop.schema import Quality


class LinkOutage:
    """Whether the series were marked stale for the current outage of a source's link."""

    def __init__(self, series: Sequence[str]) -> None:
        self._series = list(series)
        self._marked = False

    def down(self) -> FieldDelivery | None:
        """The BAD readings of every series, once per outage; None if already delivered."""
        if self._marked:
            return None
        self._marked = True
        count = len(self._series)
        return FieldDelivery(
            readings(
                self._series,
                pa.array([datetime.now(UTC)] * count, pa.timestamp("us", tz="UTC")),
                pa.nulls(count, pa.float64()),
                pa.array([int(Quality.BAD)] * count, pa.uint8()),
            )
        )

    def up(self) -> None:
        """The link is up again: the next loss is a new outage."""
        self._marked = False
