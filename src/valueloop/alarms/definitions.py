"""What an alarm is (ISA-18.2, IEC 62682): limit alarms on a series, stale alarms on several.

An alarm point is known by its name, asset and level (``hi``, ``hihi``, ``lo``, ``lolo``, or
``stale``); its :attr:`key` reads ``name:level@asset``, e.g. ``vibration_high:hi@compressor-1``.
Each time the point activates the alarm book keeps one alarm, with its own id; a
:class:`Transition` is what the evaluation of points says happened to a point, in data time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from valueloop.errors import ConfigError

LimitLevel = Literal["hi", "hihi", "lo", "lolo"]
LIMIT_LEVELS: tuple[LimitLevel, ...] = ("hi", "hihi", "lo", "lolo")
STALE = "stale"
"""The level of every stale-data alarm point."""


class Priority(StrEnum):
    """How urgently an operator must respond to an alarm."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def point_key(name: str, level: str, asset: str) -> str:
    """The key of an alarm point: ``name:level@asset``."""
    return f"{name}:{level}@{asset}"


def _non_negative(alarm: str, **durations: timedelta) -> None:
    for field, value in durations.items():
        if value < timedelta(0):
            raise ConfigError(f"alarm {alarm}: {field} must not be negative, got {value}")


@dataclass(frozen=True)
class LimitAlarm:
    """An alarm on one series crossing a limit, in the series' unit.

    ``hi``/``hihi`` alarms are active while the value is above ``limit``, ``lo``/``lolo`` while it
    is below. The condition must hold on every point for ``on_delay`` of data time before the alarm
    activates; once active it clears when the value is back inside by ``deadband`` (at or below
    ``limit - deadband`` for a high alarm) on every point for ``off_delay``.
    """

    name: str
    asset: str
    signal: str
    series_id: int
    level: LimitLevel
    limit: float
    priority: Priority
    on_delay: timedelta = timedelta(0)
    off_delay: timedelta = timedelta(0)
    deadband: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        if self.level not in LIMIT_LEVELS:
            raise ConfigError(
                f"alarm {self.name}: level {self.level!r} is not one of {', '.join(LIMIT_LEVELS)}"
            )
        if not math.isfinite(self.limit):
            raise ConfigError(f"alarm {self.name}: limit must be a finite number")
        if not (math.isfinite(self.deadband) and self.deadband >= 0):
            raise ConfigError(f"alarm {self.name}: deadband must be >= 0, got {self.deadband}")
        _non_negative(self.name, on_delay=self.on_delay, off_delay=self.off_delay)
        object.__setattr__(self, "priority", Priority(self.priority))

    @property
    def key(self) -> str:
        """``name:level@asset``."""
        return point_key(self.name, self.level, self.asset)

    @property
    def high(self) -> bool:
        """Whether the alarm is on a value above its limit (``hi``, ``hihi``)."""
        return self.level in ("hi", "hihi")


@dataclass(frozen=True)
class StaleAlarm:
    """An alarm on data that stopped arriving from any of an asset's series.

    A series is stale ``intervals * expected_interval`` after its last good (or uncertain) reading,
    and from a bad-quality reading (a Sparkplug death, an OPC UA bad status) on, until its next
    good reading; the alarm is active while at least one of its series is stale.
    """

    name: str
    asset: str
    signals: tuple[str, ...]
    series_ids: tuple[int, ...]
    expected_interval: timedelta
    intervals: int
    priority: Priority
    description: str = ""

    def __post_init__(self) -> None:
        if not self.series_ids or len(self.signals) != len(self.series_ids):
            raise ConfigError(
                f"alarm {self.name}: give one signal per series id "
                f"({len(self.signals)} signals, {len(self.series_ids)} series ids)"
            )
        if len(set(self.series_ids)) != len(self.series_ids):
            raise ConfigError(f"alarm {self.name}: a series is named twice")
        if self.expected_interval <= timedelta(0) or self.intervals < 1:
            raise ConfigError(
                f"alarm {self.name}: expected_interval must be positive and intervals >= 1"
            )
        object.__setattr__(self, "signals", tuple(self.signals))
        object.__setattr__(self, "series_ids", tuple(self.series_ids))
        object.__setattr__(self, "priority", Priority(self.priority))

    @property
    def level(self) -> str:
        """Always ``stale``."""
        return STALE

    @property
    def key(self) -> str:
        """``name:stale@asset``."""
        return point_key(self.name, STALE, self.asset)

    @property
    def timeout(self) -> timedelta:
        """How long after its last good reading a series is stale."""
        return self.expected_interval * self.intervals


EVENT = "event"
"""The level of an alarm on an event rather than a value (a field write that failed)."""


@dataclass(frozen=True)
class EventAlarm:
    """An alarm on an event of the platform's own, such as a set-point change that failed its
    read-back or broke a guard: raised when it happens, returned to normal at once, so it waits
    for an operator's acknowledgement like any alarm that returned unacknowledged."""

    name: str
    asset: str
    priority: Priority
    description: str = ""

    @property
    def level(self) -> str:
        """Always ``event``."""
        return EVENT

    @property
    def key(self) -> str:
        """``name:event@asset``."""
        return point_key(self.name, EVENT, self.asset)


Alarm = LimitAlarm | StaleAlarm | EventAlarm
TransitionKind = Literal["activate", "clear"]


@dataclass(frozen=True)
class Transition:
    """An alarm point activating or clearing at data time ``ts``.

    ``value`` is the reading that caused it (None for stale-data alarms); ``signal`` is the signal
    at fault (for a stale alarm, the series that went stale first).
    """

    alarm: Alarm
    kind: TransitionKind
    ts: datetime
    value: float | None
    signal: str

    @property
    def key(self) -> str:
        """The alarm point's key."""
        return self.alarm.key
