"""Reconnect pacing shared by the connectors: exponential backoff that wakes early on stop.

A connector that loses its peer waits ``initial`` seconds before the first retry, doubling the wait
after each failed attempt up to ``maximum`` seconds; a successful connect resets the wait. The wait
ends at once when the connector is asked to stop, so ``stop()`` never hangs on a long backoff.
"""

from __future__ import annotations

import asyncio
import contextlib


class Backoff:
    """Exponential reconnect delay in seconds, interruptible by ``stopping``."""

    def __init__(self, initial: float, maximum: float, stopping: asyncio.Event) -> None:
        self.initial = initial
        self.maximum = maximum
        self._stopping = stopping
        self._delay = initial

    def reset(self) -> None:
        """The link is up again: the next loss waits ``initial`` seconds."""
        self._delay = self.initial

    async def wait(self) -> None:
        """Sleep the current delay (or until stop), then double it up to ``maximum``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._delay)
        self._delay = min(self._delay * 2, self.maximum)
