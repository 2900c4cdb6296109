"""The engine's clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from valueloop.engine import RealClock, SimulatedClock

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_simulated_clock_moves_forward_only() -> None:
    clock = SimulatedClock(T0)
    clock.advance_to(T0 + timedelta(hours=1))
    clock.advance_to(T0 + timedelta(hours=1))
    assert clock.now() == T0 + timedelta(hours=1)
    with pytest.raises(ValueError, match=r"from 2026-03-01T01:00:00\+00:00 to 2026-03-01T00:30"):
        clock.advance_to(T0 + timedelta(minutes=30))


def test_simulated_clock_keeps_utc_and_refuses_naive_times() -> None:
    berlin = timezone(timedelta(hours=1))
    clock = SimulatedClock(datetime(2026, 3, 1, 1, tzinfo=berlin))
    assert clock.now() == T0 and clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="no time zone"):
        clock.advance_to(datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="no time zone"):
        SimulatedClock(datetime(2026, 3, 2))


def test_real_clock_is_utc_aware() -> None:
    assert RealClock().now().tzinfo is UTC
