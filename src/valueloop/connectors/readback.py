"""Reading a set-point back until the field shows the value written, or a timeout passes."""

from __future__ import annotations

import asyncio
import math
import time

from valueloop.connectors.base import Sink


async def read_until(
    sink: Sink, series: str, value: float, *, tolerance: float, timeout: float
) -> float | None:
    """Read ``series`` until it holds ``value`` within ``tolerance`` or ``timeout`` seconds pass.

    Returns the last value read (None if the field never reported one).
    """
    deadline = time.monotonic() + timeout
    last: float | None = None
    while True:
        (answer,) = await sink.read([series])
        if answer.value is not None:
            last = answer.value
        if last is not None and math.isclose(last, value, rel_tol=0, abs_tol=tolerance):
            return last
        if time.monotonic() >= deadline:
            return last
        await asyncio.sleep(0.1)
