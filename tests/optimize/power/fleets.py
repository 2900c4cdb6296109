"""Small fleets whose optimal plans can be worked out by hand."""

from __future__ import annotations

from typing import Any

from valueloop.optimize.power import DispatchProblem


def unit(name: str, price: float, **fields: Any) -> dict[str, Any]:
    """A unit of constant marginal cost ``price`` money per MWh (heat rate 1 GJ/MWh)."""
    low, high = fields.pop("min_mw", 0.0), fields.pop("max_mw", 100.0)
    return {
        "name": name,
        "min_mw": low,
        "max_mw": high,
        "fuel_price": price,
        "heat_rate": [[low, 1.0], [high, 1.0]] if low > 0 else [[0.0, 1.0], [high, 1.0]],
        **fields,
    }


def two_units(demand: list[float], **cheap: Any) -> DispatchProblem:
    """A cheap base unit (10/MWh, 100 MW, on) and a dear peaker (20/MWh, start 100, off)."""
    return DispatchProblem.model_validate(
        {
            "name": "two units",
            "demand_mw": demand,
            "units": [
                unit("base", 10.0, initial={"committed": True, "hours": 10, "mw": 50.0}, **cheap),
                unit("peak", 20.0, start_cost=100.0, min_mw=10.0, min_up_hours=3),
            ],
        }
    )
