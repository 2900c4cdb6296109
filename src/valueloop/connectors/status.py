"""Connector health: connected or not, last message, rate and errors, as operators expect to see.

A connector owns one :class:`StatusTracker` and reports to it as things happen; the API and the
CLI show its :meth:`StatusTracker.snapshot`, a :class:`ConnectorStatus`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

RATE_WINDOW_SECONDS = 60.0
"""Span over which the receive rate is averaged."""


@dataclass(frozen=True)
class ConnectorStatus:
    """A connector's health at one instant.

    Attributes:
        name: the connector's name in the site configuration.
        kind: its registered kind (``mqtt``, ``opcua``, ...).
        connected: whether its link to the field is up now.
        last_message_at: when it last received anything, None if never.
        messages: messages (payloads, notifications, polls) received since start.
        points: readings delivered since start.
        rate: readings per second over the last minute.
        errors: inputs rejected or operations failed since start.
        last_error: the latest error's message, None if none.
        reconnects: how many times the link was re-established after a loss.
    """

    name: str
    kind: str
    connected: bool
    last_message_at: datetime | None
    messages: int
    points: int
    rate: float
    errors: int
    last_error: str | None
    reconnects: int


class StatusTracker:
    """Thread-safe running totals behind a :class:`ConnectorStatus`."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self._lock = threading.Lock()
        self._connected = False
        self._ever_connected = False
        self._last_message_at: datetime | None = None
        self._messages = 0
        self._points = 0
        self._errors = 0
        self._last_error: str | None = None
        self._reconnects = 0
        self._recent: deque[tuple[float, int]] = deque()

    def connected(self) -> None:
        """The link is up (a reconnect if it was up before)."""
        with self._lock:
            if self._ever_connected and not self._connected:
                self._reconnects += 1
            self._connected = self._ever_connected = True

    def disconnected(self, reason: str | None = None) -> None:
        """The link is down; ``reason`` is kept as the last error if given."""
        with self._lock:
            self._connected = False
            if reason:
                self._last_error = reason

    def received(self, points: int, messages: int = 1) -> None:
        """``messages`` arrived carrying ``points`` readings."""
        now = time.monotonic()
        with self._lock:
            self._messages += messages
            self._points += points
            self._last_message_at = datetime.now(UTC)
            self._recent.append((now, points))
            self._forget(now)

    def error(self, reason: str, count: int = 1) -> None:
        """``count`` inputs or operations failed for ``reason``."""
        with self._lock:
            self._errors += count
            self._last_error = reason

    def _forget(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > RATE_WINDOW_SECONDS:
            self._recent.popleft()

    def snapshot(self) -> ConnectorStatus:
        """The status now."""
        now = time.monotonic()
        with self._lock:
            self._forget(now)
            span = now - self._recent[0][0] if self._recent else 0.0
            recent_points = sum(points for _, points in self._recent)
            rate = recent_points / max(span, 1.0) if self._recent else 0.0
            return ConnectorStatus(
                name=self.name,
                kind=self.kind,
                connected=self._connected,
                last_message_at=self._last_message_at,
                messages=self._messages,
                points=self._points,
                rate=round(rate, 3),
                errors=self._errors,
                last_error=self._last_error,
                reconnects=self._reconnects,
            )
