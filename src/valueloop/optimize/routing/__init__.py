"""Vehicle routing: capacitated routes (CVRP) and routes with time windows (VRPTW), with PyVRP.

Read an instance (:func:`read_instance`) or build a :class:`RoutingProblem` from the platform's
sites (:meth:`RoutingProblem.from_sites`), plan it with :class:`RouteOptimizer` and check the
plan with :func:`validate_routes`.
"""

from valueloop.optimize.routing.bounds import distance_lower_bound, infeasibility_reasons
from valueloop.optimize.routing.files import solve_routing_file
from valueloop.optimize.routing.formats import (
    read_cvrplib,
    read_instance,
    read_solomon,
    read_solution,
)
from valueloop.optimize.routing.optimizer import RouteOptimizer
from valueloop.optimize.routing.problem import Customer, Depot, RoutingProblem
from valueloop.optimize.routing.schedule import ASSIGNMENTS_SCHEMA, routes_distance, routes_table
from valueloop.optimize.routing.validate import validate_routes

__all__ = [
    "ASSIGNMENTS_SCHEMA",
    "Customer",
    "Depot",
    "RouteOptimizer",
    "RoutingProblem",
    "distance_lower_bound",
    "infeasibility_reasons",
    "read_cvrplib",
    "read_instance",
    "read_solomon",
    "read_solution",
    "routes_distance",
    "routes_table",
    "solve_routing_file",
    "validate_routes",
]
