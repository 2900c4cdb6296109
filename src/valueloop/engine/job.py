"""The job contract: one unit of the loop's work, stepped by the engine on its clock.

A job (analytics of one binding on one asset, the alarms of a site, its decision rules, ...) is
deterministic in data time: given the same stored points and the same ``now`` it writes the same
rows, whatever the split of time into steps. The engine keeps each job's watermark and state in the
site's books and hands them back at the next step, so that a restart neither misses nor repeats
work; a job writes its outputs idempotently (upserts, unique keys), so a step repeated after a
crash writes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class JobState(StrEnum):
    """How a job's last step ended."""

    OK = "ok"
    WAITING = "waiting"
    """The job ran but had too little data to do its work (for example, a training window that
    holds too few points); it is asked again at its next step."""
    ERROR = "error"
    """The step raised; the engine retries it with backoff."""


@dataclass(frozen=True)
class JobResult:
    """What one step of a job did.

    ``watermark`` is the data time up to which the job has done its work (None: nothing yet);
    ``state`` is what the job needs to resume exactly (opaque bytes, kept in the books);
    ``rows`` counts the rows it wrote; ``message`` says what happened, for the status page.
    """

    watermark: datetime | None
    state: bytes | None = None
    status: JobState = JobState.OK
    message: str = ""
    rows: int = 0


class Job(Protocol):
    """A unit of work stepped by the engine."""

    name: str
    """Unique within a site, e.g. ``analytics:health:compressor-1``."""
    every: timedelta
    """How often the job runs on the engine's clock."""

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Do the work due at ``now``, from ``watermark`` and ``state`` of the previous step."""
        ...
