"""Crash points of an execution, for the exactly-once tests.

An execution passes named points (after its start is recorded, after the write intent, after the
write, after its result is recorded). With ``VALUELOOP_CRASH_AT`` naming one of them, the process
kills itself with SIGKILL there, as a power cut would, so a test can restart it and count the
writes the device received. Unset (always, in production) a crash point does nothing.
"""

from __future__ import annotations

import os
import signal

CRASH_POINTS = ("executing", "write_intent", "write_sent", "written")
VARIABLE = "VALUELOOP_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process at ``name`` when ``VALUELOOP_CRASH_AT`` says so."""
    if os.environ.get(VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
