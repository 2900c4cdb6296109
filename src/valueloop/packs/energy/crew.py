"""The pack's crew: it carries out the approved maintenance tasks on the plant's inverter.

A task the site's policy approved is dispatched to the crew by the core's act job; once it is due,
the crew washes the modules and completes the task on the engine's clock, with the cost of a
planned maintenance of the inverter's type. The replay reads the completion and stops injecting
the soiling loss from then on (:mod:`.replay`), and the measurement job plans the cleaning's M&V.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from valueloop.act.workorders import OrderStatus
from valueloop.engine.job import JobResult
from valueloop.packs.energy.replay import EVERY

if TYPE_CHECKING:
    from valueloop.site import Site

ACTOR = "crew:energy"
WASH_HOURS = 2.0
"""How long a wash of the array takes (the inverter produces through it)."""


class CrewJob:
    """Complete the inverter's dispatched maintenance tasks once they are due."""

    def __init__(self, site: Site, inverter: str) -> None:
        self.name = "energy:crew"
        self.every = EVERY
        self.site = site
        self.inverter = inverter

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Complete every due dispatched task on the inverter."""
        due = [
            order
            for order in self.site.work_orders.in_states([OrderStatus.DISPATCHED])
            if order["asset"] == self.inverter
            and order["kind"] == "maintenance"
            and order["due_at"] <= now
        ]
        cost = self.site.model.assets[self.inverter].type.costs.planned()
        desk = self.site.actions_at(now)
        for order in due:
            desk.complete(
                order["order_id"],
                actor=ACTOR,
                actual_cost=cost,
                duration_h=WASH_HOURS,
                findings=f"{order['task']}: modules washed, the injected soiling removed",
            )
        done = ", ".join(str(order["order_id"]) for order in due)
        return JobResult(now, rows=len(due), message=f"completed {done}" if due else "no task due")
