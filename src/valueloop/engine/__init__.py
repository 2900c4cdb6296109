"""The engine: a site's jobs stepped on one clock, real under ``serve``, simulated under ``run``.

A :class:`Job` does one unit of the loop's work at each step; the :class:`Engine` runs the jobs in
data-flow order when they are due and keeps each one's watermark and state in the
:class:`JobBook`, so that a restart neither misses nor repeats work.
"""

from valueloop.engine.book import JobBook
from valueloop.engine.clock import Clock, RealClock, SimulatedClock
from valueloop.engine.job import Job, JobResult, JobState
from valueloop.engine.scheduler import Engine, JobRun, JobStatus, JobTotals, RunReport

__all__ = [
    "Clock",
    "Engine",
    "Job",
    "JobBook",
    "JobResult",
    "JobRun",
    "JobState",
    "JobStatus",
    "JobTotals",
    "RealClock",
    "RunReport",
    "SimulatedClock",
]
