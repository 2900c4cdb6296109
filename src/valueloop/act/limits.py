"""The limits a set-point change must keep, and the bounds of what the policy approves by itself.

A change is refused, naming the limit it breaks, when its target lies outside the set-point's
``min``/``max``, moves more than ``max_step`` from the current value, or comes sooner than
``min_interval`` after the previous change of the same set-point on the same asset. Under an
``auto`` policy a change inside its set-point's ``auto`` band (:func:`inside_auto_band`), and a
maintenance task inside the policy's ``auto_maintenance`` (:func:`inside_auto_maintenance`),
need no person's approval.
"""

from __future__ import annotations

import math
from datetime import datetime

from valueloop.config import AutoMaintenance, SetpointSpec
from valueloop.errors import LimitError


def check_change(
    where: str,
    spec: SetpointSpec,
    target: float,
    current: float | None,
    *,
    last_change: datetime | None = None,
    now: datetime,
) -> None:
    """Refuse a change of set-point ``where`` to ``target`` that breaks a limit of ``spec``.

    ``current`` is the value the set-point holds now (None when unknown: a step limit then
    cannot be checked and the change is refused); ``last_change`` when the set-point was last
    changed on this asset. Units are the set-point's.
    """
    unit = f" {spec.unit}" if spec.unit else ""
    if not math.isfinite(target):
        raise LimitError(f"{where}: the target must be a finite number, got {target}")
    if target < spec.min:
        raise LimitError(f"{where}: target {target}{unit} is below its min {spec.min}{unit}")
    if target > spec.max:
        raise LimitError(f"{where}: target {target}{unit} is above its max {spec.max}{unit}")
    if spec.max_step is not None:
        if current is None:
            raise LimitError(
                f"{where}: its current value is unknown, so its max_step {spec.max_step}{unit} "
                "cannot be checked; the change is refused until the field reports it"
            )
        step = abs(target - current)
        if step > spec.max_step + 1e-9:
            raise LimitError(
                f"{where}: moving from {current}{unit} to {target}{unit} is a step of "
                f"{step:g}{unit}, above its max_step {spec.max_step}{unit}"
            )
    if spec.min_interval is not None and last_change is not None:
        allowed = last_change + spec.min_interval
        if now < allowed:
            raise LimitError(
                f"{where}: the rate limit (min_interval {spec.min_interval}) allows the next "
                f"change at {allowed.isoformat()}; the last was at {last_change.isoformat()}"
            )


def inside_auto_band(spec: SetpointSpec, target: float, current: float | None) -> bool:
    """Whether a change to ``target`` lies inside the set-point's automatic-approval band."""
    band = spec.auto
    if band is None or not band.min <= target <= band.max:
        return False
    if band.max_step is None:
        return True
    return current is not None and abs(target - current) <= band.max_step + 1e-9


def inside_auto_maintenance(rule: AutoMaintenance, task: str, planned_cost: float) -> bool:
    """Whether a maintenance task planned to cost ``planned_cost`` (site currency) lies inside
    the policy's automatic-approval rule."""
    if not math.isfinite(planned_cost) or planned_cost > rule.max_cost:
        return False
    named = {name.strip().casefold() for name in rule.tasks}
    return not named or task.strip().casefold() in named
