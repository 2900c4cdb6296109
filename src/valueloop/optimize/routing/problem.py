"""What a vehicle routing problem is: a depot, customers, a fleet and how distance is measured.

One model covers the capacitated VRP (CVRP) and the VRP with time windows (VRPTW). Every vehicle
starts and ends at the depot, carries at most ``capacity`` units and serves each customer exactly
once, arriving no later than the customer's ``due`` time (it waits if it comes before ``ready``)
and staying ``service`` time units. Travel time between two places is their distance divided by
``speed``.

Distance conventions (:data:`DistanceConvention`):

- ``"nint"``: Euclidean distance rounded to the nearest integer, TSPLIB's ``EUC_2D``; the
  convention of CVRPLIB's instances and their optimal costs.
- ``"exact"``: Euclidean distance in full double precision; the convention of the classic Solomon
  VRPTW best-known solutions (vehicles, then distance).
- ``"haversine"``: great-circle distance in kilometres on a sphere of radius
  :data:`EARTH_RADIUS_KM`, with ``x`` the longitude and ``y`` the latitude in degrees; for real
  sites.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from valueloop.errors import ConfigError

DistanceConvention = Literal["nint", "exact", "haversine"]
"""How the distance between two places is computed from their coordinates."""

FleetRule = Literal["at_most", "exactly"]
"""Whether a plan may use fewer routes than ``vehicles`` (``at_most``) or must use them all."""

RoutingObjective = Literal["distance", "vehicles_then_distance"]
"""Total distance alone, or the fewest vehicles first and then the total distance."""

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), in kilometres, for the ``haversine`` convention."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Depot(_Strict):
    """Where every route starts and ends, open from ``ready`` to ``due`` (time units)."""

    name: str = Field(min_length=1, description="depot identifier")
    x: float = Field(description="x coordinate (longitude in degrees for haversine)")
    y: float = Field(description="y coordinate (latitude in degrees for haversine)")
    ready: float = Field(default=0.0, ge=0, description="earliest departure, time units")
    due: float | None = Field(default=None, description="latest return, time units; None: open")

    @model_validator(mode="after")
    def _open_before_closing(self) -> Self:
        if self.due is not None and self.due < self.ready:
            raise ValueError(
                f"depot {self.name}: closes at {self.due}, before it opens at {self.ready}"
            )
        return self


class Customer(_Strict):
    """A place to deliver ``demand`` units to, within an optional time window."""

    name: str = Field(min_length=1, description="customer identifier")
    x: float = Field(description="x coordinate (longitude in degrees for haversine)")
    y: float = Field(description="y coordinate (latitude in degrees for haversine)")
    demand: int = Field(ge=0, description="units to deliver (same unit as the capacity)")
    ready: float = Field(default=0.0, ge=0, description="earliest start of service, time units")
    due: float | None = Field(
        default=None, description="latest start of service, time units; None: no deadline"
    )
    service: float = Field(default=0.0, ge=0, description="time spent at the customer")

    @model_validator(mode="after")
    def _window_ordered(self) -> Self:
        if self.due is not None and self.due < self.ready:
            raise ValueError(
                f"customer {self.name}: due time {self.due} is before ready time {self.ready}"
            )
        return self


class RoutingProblem(_Strict):
    """A depot, its customers and a fleet of identical vehicles to serve them.

    ``vehicles`` is the size of the fleet (``None``: as many as needed); with ``fleet="exactly"``
    every vehicle must drive a route with at least one customer, as in the CVRPLIB convention for
    the Augerat instances, whose name gives the number of routes (``A-n32-k5``: 5).
    """

    name: str = Field(default="routing", description="instance name")
    depot: Depot
    customers: list[Customer] = Field(min_length=1)
    capacity: int = Field(gt=0, description="load one vehicle carries, units of demand")
    vehicles: int | None = Field(default=None, ge=1, description="fleet size; None: unlimited")
    fleet: FleetRule = "at_most"
    distance: DistanceConvention = "exact"
    speed: float = Field(default=1.0, gt=0, description="distance units per time unit")
    objective: RoutingObjective = "distance"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [customer.name for customer in self.customers]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"each customer must appear once; repeated: {', '.join(repeated)}")
        if self.fleet == "exactly" and self.vehicles is None:
            raise ValueError('fleet="exactly" needs a number of vehicles')
        return self

    @property
    def has_time_windows(self) -> bool:
        """Whether any customer or the depot has a time window or a service time."""
        return self.depot.due is not None or any(
            c.ready > 0 or c.due is not None or c.service > 0 for c in self.customers
        )

    def coordinates(self) -> NDArray[np.float64]:
        """(customers + 1, 2) array of ``x, y``; row 0 is the depot, row k the k-th customer."""
        places: list[Depot | Customer] = [self.depot, *self.customers]
        return np.array([(p.x, p.y) for p in places], dtype=np.float64)

    def demands(self) -> NDArray[np.int64]:
        """Demand of each place, depot first (0), in units."""
        return np.array([0, *(c.demand for c in self.customers)], dtype=np.int64)

    def distance_matrix(self) -> NDArray[np.float64]:
        """Distance between every two places (depot first), by the problem's convention."""
        return distance_matrix(self.coordinates(), self.distance)

    def travel_times(self) -> NDArray[np.float64]:
        """Time to drive between every two places (depot first), in time units."""
        return self.distance_matrix() / self.speed

    def windows(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """``ready``, ``due`` (inf when open) and ``service`` of every place, depot first."""
        ready = [self.depot.ready, *(c.ready for c in self.customers)]
        due = [self.depot.due, *(c.due for c in self.customers)]
        service = [0.0, *(c.service for c in self.customers)]
        return (
            np.array(ready, dtype=np.float64),
            np.array([np.inf if d is None else d for d in due], dtype=np.float64),
            np.array(service, dtype=np.float64),
        )

    @classmethod
    def from_sites(
        cls,
        sites: pa.Table,
        *,
        depot: str,
        capacity: int,
        vehicles: int | None = None,
        distance: DistanceConvention = "haversine",
        speed: float = 1.0,
        objective: RoutingObjective = "distance",
        name: str = "sites",
    ) -> RoutingProblem:
        """A problem from a table of the platform's sites, e.g. a spare-part delivery run.

        ``sites`` has one row per site with columns ``site`` (name), ``x`` and ``y`` (longitude
        and latitude in degrees for ``haversine``), ``demand`` (units), and optionally ``ready``,
        ``due`` and ``service`` (time units; a null ``due`` is an open window). The row named
        ``depot`` is the depot; every other row is a customer. Raises
        :class:`~valueloop.errors.ConfigError` if a column is missing or a value is invalid.
        """
        required = ("site", "x", "y", "demand")
        missing = [column for column in required if column not in sites.column_names]
        if missing:
            raise ConfigError(f"sites table lacks column(s) {', '.join(missing)}")
        rows = sites.to_pylist()
        depots = [row for row in rows if row["site"] == depot]
        if len(depots) != 1:
            raise ConfigError(f"sites table must hold the depot {depot!r} once, not {len(depots)}")
        optional = [c for c in ("ready", "due", "service") if c in sites.column_names]
        try:
            return cls(
                name=name,
                depot=Depot(
                    name=depot,
                    x=depots[0]["x"],
                    y=depots[0]["y"],
                    ready=depots[0].get("ready") or 0.0,
                    due=depots[0].get("due"),
                ),
                customers=[
                    Customer(
                        name=str(row["site"]),
                        x=row["x"],
                        y=row["y"],
                        demand=row["demand"],
                        **{c: row[c] for c in optional if row[c] is not None},
                    )
                    for row in rows
                    if row["site"] != depot
                ],
                capacity=capacity,
                vehicles=vehicles,
                distance=distance,
                speed=speed,
                objective=objective,
            )
        except ValidationError as err:
            raise ConfigError(f"invalid sites table: {err}") from err


def distance_matrix(
    coordinates: NDArray[np.float64], convention: DistanceConvention
) -> NDArray[np.float64]:
    """Distance between every two rows of ``coordinates`` ((n, 2) array), by ``convention``."""
    if convention == "haversine":
        lon, lat = np.radians(coordinates[:, 0]), np.radians(coordinates[:, 1])
        half_dlat = (lat[:, None] - lat[None, :]) / 2.0
        half_dlon = (lon[:, None] - lon[None, :]) / 2.0
        h = (
            np.sin(half_dlat) ** 2
            + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(half_dlon) ** 2
        )
        return np.asarray(
            2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))), dtype=np.float64
        )
    delta = coordinates[:, None, :] - coordinates[None, :, :]
    euclidean = np.sqrt((delta**2).sum(axis=2))
    if convention == "nint":
        # TSPLIB nint: (int)(x + 0.5), i.e. halves round up, unlike numpy's round-half-even.
        return np.asarray(np.floor(euclidean + 0.5), dtype=np.float64)
    return np.asarray(euclidean, dtype=np.float64)
