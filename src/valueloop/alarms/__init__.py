"""ISA-18.2 alarms: limit and stale-data alarm points, their evaluation, book and engine job.

- :mod:`~valueloop.alarms.definitions`: what an alarm point is (:class:`LimitAlarm`,
  :class:`StaleAlarm`) and what happens to it (:class:`Transition`);
- :mod:`~valueloop.alarms.evaluate`: transitions from points, incremental and in data time;
- :mod:`~valueloop.alarms.book`: the alarms' states, acknowledgement, shelving, out of service;
- :mod:`~valueloop.alarms.job`: all of it as one engine job.
"""

from valueloop.alarms.book import ACTIVE, AlarmBook, AlarmState, alarm_id
from valueloop.alarms.definitions import (
    LimitAlarm,
    Priority,
    StaleAlarm,
    Transition,
    point_key,
)
from valueloop.alarms.evaluate import evaluate_limits, evaluate_stale
from valueloop.alarms.job import AlarmJob

__all__ = [
    "ACTIVE",
    "AlarmBook",
    "AlarmJob",
    "AlarmState",
    "LimitAlarm",
    "Priority",
    "StaleAlarm",
    "Transition",
    "alarm_id",
    "evaluate_limits",
    "evaluate_stale",
    "point_key",
]
