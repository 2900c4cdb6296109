"""The contract every set-point sink is held to, checked against its real peer.

:func:`check_sink` writes known values to a live device through a
:class:`~valueloop.connectors.base.Sink` and returns the breaches of the contract: every target it
is asked about is one it declares; each write is answered once, under its reference; each value
written is read back within a tolerance before a timeout; a write to a series the sink does not
map is refused with a reason rather than raised; and the sink closes cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from valueloop.connectors.base import SetpointWrite, Sink
from valueloop.connectors.readback import read_until


async def check_sink(
    sink: Sink,
    values: Mapping[str, Sequence[float]],
    *,
    tolerance: float = 1e-6,
    timeout: float = 10.0,
) -> list[str]:
    """Check ``sink`` against its live peer; return the breaches (empty when it holds).

    ``values`` maps set-point series (full paths) to the values to write in turn; each must be
    representable exactly by the mapping's data type within ``tolerance``.
    """
    breaches: list[str] = []
    declared = set(sink.targets())
    for series, sequence in values.items():
        if series not in declared:
            breaches.append(f"{series} is not among the sink's targets")
            continue
        for index, value in enumerate(sequence):
            reference = f"check-{series}-{index}"
            results = await sink.write([SetpointWrite(series, value, reference)])
            if [result.reference for result in results] != [reference]:
                breaches.append(f"write of {value} to {series} answered {results!r}")
                continue
            if not results[0].ok:
                breaches.append(f"write of {value} to {series} refused: {results[0].detail}")
                continue
            seen = await read_until(sink, series, value, tolerance=tolerance, timeout=timeout)
            if seen is None or not math.isclose(seen, value, abs_tol=tolerance):
                breaches.append(f"{series}: wrote {value}, read back {seen} within {timeout} s")
    stray = "check/not/a/setpoint"
    (refused,) = await sink.write([SetpointWrite(stray, 1.0, "check-stray")])
    if refused.ok or stray not in refused.detail:
        breaches.append(f"a write to an unmapped series was not refused by name: {refused!r}")
    (unknown,) = await sink.read([stray])
    if unknown.value is not None or not unknown.detail:
        breaches.append(f"reading an unmapped series gave {unknown!r}, not a reason")
    await sink.close()
    return breaches
