"""The engine's clocks: the wall clock under ``serve``, a simulated one under ``run`` and in tests.

Every job reads time from the clock the engine hands it, never from the wall, so a simulated run
over history executes the very code that runs in production. Times are UTC-aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...


class RealClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current wall-clock time in UTC."""
        return datetime.now(UTC)


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} has no time zone; give an aware datetime")
    return moment.astimezone(UTC)


class SimulatedClock:
    """A clock that stands still until it is moved forward, as fast as the machine allows."""

    def __init__(self, start: datetime) -> None:
        self._now = _utc(start, "the simulated clock's start")

    def now(self) -> datetime:
        """The simulated time, UTC-aware."""
        return self._now

    def advance_to(self, moment: datetime) -> None:
        """Move the clock to ``moment``; time never goes back (ValueError)."""
        moment = _utc(moment, "the simulated clock's new time")
        if moment < self._now:
            raise ValueError(
                f"the simulated clock cannot go back from {self._now.isoformat()} "
                f"to {moment.isoformat()}"
            )
        self._now = moment
